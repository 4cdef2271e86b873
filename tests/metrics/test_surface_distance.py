"""Average (symmetric) surface distance against medpy and MONAI, and the empty-mask rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from boundaryloss.metrics import average_surface_distance

from .reference import ball, medpy_asd, medpy_assd, monai_asd, random_pair

SPACING = (0.85, 1.2, 0.9)


def test_hand_computed_shifted_squares():
    pred = np.zeros((8, 8), dtype=int)
    ref = np.zeros((8, 8), dtype=int)
    pred[2:5, 2:5] = 1
    ref[2:5, 3:6] = 1  # shifted by one column
    # Each surface has 8 voxels: 4 lie on the other surface, the middle one of the leading
    # column is 1 row (1 mm) from it, the 3 of the trailing column 1 column (2 mm) away.
    expected = (4 * 0.0 + 1.0 + 3 * 2.0) / 8
    assert average_surface_distance(pred, ref, (1.0, 2.0)) == {1: pytest.approx(expected)}
    assert average_surface_distance(pred, ref, (1.0, 2.0), symmetric=False) == {
        1: pytest.approx(expected)
    }


@pytest.mark.parametrize(
    ("center", "radius"), [((53, 46, 51), 20), ((49, 49, 49), 40), ((49, 49, 49), 20)]
)
def test_spheres_match_medpy_and_monai(center, radius):
    pred = ball((99, 99, 99), (49, 49, 49), 20, SPACING)
    ref = ball((99, 99, 99), center, radius, SPACING)
    ours = average_surface_distance(pred, ref, SPACING)[1]
    assert ours == pytest.approx(medpy_assd(pred, ref, SPACING), rel=1e-12)
    assert ours == pytest.approx(monai_asd(pred, ref, SPACING, True), rel=1e-6, abs=1e-6)
    directed = average_surface_distance(pred, ref, SPACING, symmetric=False)[1]
    assert directed == pytest.approx(medpy_asd(pred, ref, SPACING), rel=1e-12)
    assert directed == pytest.approx(monai_asd(pred, ref, SPACING, False), rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_random_masks_match_medpy(seed):
    rng = np.random.default_rng(seed)
    pred, ref = random_pair(rng, (6, 9, 7) if seed % 2 else (12, 10))
    spacing = tuple(float(s) for s in rng.uniform(0.5, 2.0, size=pred.ndim))
    ours = average_surface_distance(pred, ref, spacing)[1]
    assert ours == pytest.approx(medpy_assd(pred, ref, spacing), rel=1e-9)
    assert ours == pytest.approx(monai_asd(pred, ref, spacing, True), rel=1e-6)


def _masks(which):
    pred = np.zeros((4, 5, 6), dtype=int)
    ref = np.zeros((4, 5, 6), dtype=int)
    if which in ("pred", "neither"):
        ref[1:3, 1:3, 1:4] = 1
    if which in ("ref", "neither"):
        pred[1:3, 2:4, 1:4] = 1
    return pred, ref


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("empty_side", ["pred", "ref"])
def test_one_empty_mask(symmetric, empty_side):
    pred, ref = _masks(empty_side)
    spacing = (1.0, 2.0, 0.5)
    run = average_surface_distance
    assert run(pred, ref, spacing, symmetric) == {1: math.inf}
    assert math.isnan(run(pred, ref, spacing, symmetric, missing="nan")[1])
    diagonal = math.sqrt(4**2 + 10**2 + 3**2)
    assert run(pred, ref, spacing, symmetric, missing="diagonal") == {1: pytest.approx(diagonal)}


@pytest.mark.parametrize("missing", ["inf", "nan", "diagonal"])
def test_both_empty(missing):
    pred, ref = _masks("both")
    assert average_surface_distance(pred, ref, missing=missing) == {1: 0.0}
    assert math.isnan(average_surface_distance(pred, ref, missing=missing, empty="nan")[1])


def test_bad_arguments():
    pred, ref = _masks("neither")
    for kwargs, match in [
        ({"missing": "max"}, "missing"),
        ({"empty": "zero"}, "empty"),
        ({"spacing": (1.0, 1.0)}, "spacing"),
        ({"symmetric": "yes"}, "symmetric"),
    ]:
        with pytest.raises(ValueError, match=match):
            average_surface_distance(pred, ref, **kwargs)
