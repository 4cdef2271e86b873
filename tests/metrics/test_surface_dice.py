"""Normalized surface Dice against MONAI compute_surface_dice, and the empty-mask rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from boundaryloss.metrics import normalized_surface_dice

from .reference import ball, monai_nsd, random_pair

SPACING = (0.85, 1.2, 0.9)


def test_hand_computed_shifted_squares():
    pred = np.zeros((8, 8), dtype=int)
    ref = np.zeros((8, 8), dtype=int)
    pred[2:5, 2:5] = 1
    ref[2:5, 3:6] = 1
    # Per mask, 4 of 8 surface voxels lie on the other surface, 1 is 1 mm and 3 are 2 mm away.
    assert normalized_surface_dice(pred, ref, 1.0, (1.0, 2.0)) == {1: pytest.approx(10 / 16)}
    assert normalized_surface_dice(pred, ref, 2.0, (1.0, 2.0)) == {1: 1.0}  # inclusive


@pytest.mark.parametrize("tolerance", [0.5, 2.0, 5.0])
@pytest.mark.parametrize(("center", "radius"), [((53, 46, 51), 20), ((49, 49, 49), 22)])
def test_spheres_match_monai(tolerance, center, radius):
    pred = ball((99, 99, 99), (49, 49, 49), 20, SPACING)
    ref = ball((99, 99, 99), center, radius, SPACING)
    ours = normalized_surface_dice(pred, ref, tolerance, SPACING)[1]
    assert ours == pytest.approx(monai_nsd(pred, ref, SPACING, tolerance), rel=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_random_masks_match_monai(seed):
    rng = np.random.default_rng(seed)
    pred, ref = random_pair(rng, (6, 9, 7) if seed % 2 else (12, 10))
    spacing = tuple(float(s) for s in rng.uniform(0.5, 2.0, size=pred.ndim))
    ours = normalized_surface_dice(pred, ref, 1.5, spacing)[1]
    assert ours == pytest.approx(monai_nsd(pred, ref, spacing, 1.5), rel=1e-6)


@pytest.mark.parametrize("empty_side", ["pred", "ref"])
@pytest.mark.parametrize("empty", ["perfect", "nan"])
def test_one_empty_mask_scores_zero(empty_side, empty):
    pred = np.zeros((5, 5), dtype=int)
    ref = np.zeros((5, 5), dtype=int)
    (ref if empty_side == "pred" else pred)[1:3, 1:3] = 1
    assert normalized_surface_dice(pred, ref, 1.0, empty=empty) == {1: 0.0}


def test_both_empty():
    empty = np.zeros((5, 5), dtype=int)
    assert normalized_surface_dice(empty, empty, 1.0) == {1: 1.0}
    assert math.isnan(normalized_surface_dice(empty, empty, 1.0, empty="nan")[1])


@pytest.mark.parametrize("tolerance", [-1.0, math.inf, "1", None])
def test_bad_tolerance(tolerance):
    mask = np.ones((3, 3), dtype=int)
    with pytest.raises(ValueError, match="tolerance"):
        normalized_surface_dice(mask, mask, tolerance)
