"""Hausdorff distance / HD95: hand-computed values, MONAI (mode="max"), medpy (mode="pooled")."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from boundaryloss.metrics import _surface, hausdorff_distance

from .reference import ball, medpy_hd, monai_hd, random_pair

SPACING = (0.85, 1.2, 0.9)
GRID = (99, 99, 99)
CENTER = (49, 49, 49)


@pytest.fixture(scope="module")
def spheres():
    """The three sphere pairs of the issue, radii in mm on an anisotropic 99^3 grid."""
    r20 = ball(GRID, CENTER, 20, SPACING)
    return {
        "shifted": (r20, ball(GRID, (53, 46, 51), 20, SPACING)),
        "r20_vs_r40": (r20, ball(GRID, CENTER, 40, SPACING)),
        "identical": (r20, r20.copy()),
    }


@pytest.fixture(params=["kdtree", "edt"])
def engine(request, monkeypatch):
    """Run a test through both distance engines (sparse: k-d tree, dense: EDT)."""
    monkeypatch.setattr(_surface, "DENSE_SURFACE_FRACTION", 0.0 if request.param == "edt" else 2.0)
    monkeypatch.setattr(_surface, "DENSE_MIN_VOXELS", 0)
    return request.param


# --- hand-computed ----------------------------------------------------------------------


def test_two_pixels_2mm_apart():
    pred = np.zeros((5, 5), dtype=int)
    ref = np.zeros((5, 5), dtype=int)
    pred[2, 1] = 1
    ref[2, 3] = 1  # two columns apart
    assert hausdorff_distance(pred, ref) == {1: 2.0}
    assert hausdorff_distance(pred, ref, spacing=(3.0, 1.0)) == {1: 2.0}
    assert hausdorff_distance(pred, ref, spacing=(1.0, 0.5)) == {1: 1.0}
    assert hausdorff_distance(pred, ref, spacing=(1.0, 1.0), percentile=95, mode="pooled") == {
        1: 2.0
    }


def test_2d_anisotropic_diagonal():
    pred = np.zeros((6, 6), dtype=bool)
    ref = np.zeros((6, 6), dtype=bool)
    pred[1, 1] = True
    ref[4, 3] = True  # 3 rows, 2 columns apart
    value = hausdorff_distance(pred, ref, spacing=(2.0, 0.5))[1]
    assert value == pytest.approx(math.hypot(3 * 2.0, 2 * 0.5), rel=1e-12)


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (1.0, 1.0, 3.0), (0.7, 1.3, 2.0)])
def test_shifted_cubes_3d(spacing, engine):
    pred = np.zeros((20, 20, 20), dtype=np.uint8)
    ref = np.zeros((20, 20, 20), dtype=np.uint8)
    pred[5:10, 5:10, 5:10] = 1
    ref[5:10, 5:10, 7:12] = 1  # shifted by 2 voxels along the last axis
    expected = 2 * spacing[2]
    for mode in ("max", "pooled"):
        assert hausdorff_distance(pred, ref, spacing, mode=mode)[1] == pytest.approx(expected)
    # Directed sets: the 4 x ... faces that did not move are at distance 0; the percentile
    # sits at the shift distance for both modes in this symmetric configuration.
    assert hausdorff_distance(pred, ref, spacing, 95)[1] == pytest.approx(expected)


def test_image_edge_voxels_are_surface():
    # A mask filling the whole image: with the MONAI/medpy definition its surface is the
    # outer layer, so a one-voxel reference in the centre is 2 voxels from its nearest
    # point and sqrt(8) from its corners. (Were edge voxels not surface, the full mask would
    # have no surface at all.)
    pred = np.ones((5, 5), dtype=int)
    ref = np.zeros((5, 5), dtype=int)
    ref[2, 2] = 1
    expected = math.sqrt(8)
    assert hausdorff_distance(pred, ref)[1] == pytest.approx(expected, rel=1e-12)
    assert monai_hd(pred, ref, None, None) == pytest.approx(expected, rel=1e-6)
    assert medpy_hd(pred.astype(bool), ref.astype(bool), None, None) == pytest.approx(expected)
    assert hausdorff_distance(pred, ref, percentile=0, mode="pooled")[1] == 2.0


def test_percentile_none_is_mode_independent_and_zero_for_identical():
    rng = np.random.default_rng(3)
    a, b = random_pair(rng, (9, 10, 11))
    assert hausdorff_distance(a, b, mode="max") == hausdorff_distance(a, b, mode="pooled")
    assert hausdorff_distance(a, a, percentile=95) == {1: 0.0}


def test_symmetry_and_torch_input():
    rng = np.random.default_rng(4)
    a, b = random_pair(rng, (12, 13))
    forward = hausdorff_distance(a, b, percentile=95)
    assert hausdorff_distance(b, a, percentile=95) == forward
    assert hausdorff_distance(torch.from_numpy(a), torch.from_numpy(b), percentile=95) == forward


# --- against MONAI and medpy ----------------------------------------------------------


@pytest.mark.parametrize("name", ["shifted", "r20_vs_r40", "identical"])
@pytest.mark.parametrize("percentile", [95, None])
def test_spheres_match_monai_and_medpy(spheres, name, percentile):
    pred, ref = spheres[name]
    ours_max = hausdorff_distance(pred, ref, SPACING, percentile, "max")[1]
    ours_pooled = hausdorff_distance(pred, ref, SPACING, percentile, "pooled")[1]
    # MONAI computes in float32; medpy in float64 like us.
    assert ours_max == pytest.approx(monai_hd(pred, ref, SPACING, percentile), rel=1e-6, abs=1e-6)
    assert ours_pooled == pytest.approx(medpy_hd(pred, ref, SPACING, percentile), rel=1e-12)


def test_modes_differ_with_an_outlier_blob(engine):
    # A spurious blob is ~7% of the prediction surface but ~4% of both surfaces pooled:
    # P95 of pred->ref sees it, the pooled P95 does not.
    ref = ball((40, 40, 40), (15, 20, 20), 10)
    pred = ref | ball((40, 40, 40), (33, 20, 20), 4)
    spacing = (1.0, 1.0, 1.5)
    by_max = hausdorff_distance(pred, ref, spacing, 95, "max")[1]
    pooled = hausdorff_distance(pred, ref, spacing, 95, "pooled")[1]
    assert by_max > pooled + 1.0
    assert by_max == pytest.approx(monai_hd(pred, ref, spacing, 95), rel=1e-6)
    assert pooled == pytest.approx(medpy_hd(pred, ref, spacing, 95), rel=1e-6)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("percentile", [95, None, 50])
def test_random_masks_match_references(seed, percentile, engine):
    rng = np.random.default_rng(seed)
    ndim = 2 + seed % 2
    shape = tuple(int(n) for n in rng.integers(4, 14, size=ndim))
    pred, ref = random_pair(rng, shape)
    spacing = tuple(float(s) for s in rng.uniform(0.5, 2.5, size=ndim))
    rel = 1e-6 if engine == "edt" else 1e-12  # EDT squares are float32 when anisotropic
    ours = hausdorff_distance(pred, ref, spacing, percentile, "max")[1]
    assert ours == pytest.approx(monai_hd(pred, ref, spacing, percentile), rel=1e-6, abs=1e-6)
    if percentile != 50:
        pooled = hausdorff_distance(pred, ref, spacing, percentile, "pooled")[1]
        assert pooled == pytest.approx(medpy_hd(pred, ref, spacing, percentile), rel=rel)


def test_small_lesion_in_large_volume_matches_uncropped_reference():
    # The crop to the union bounding box must not change values, also when the structure
    # touches the image edge (edge voxels are surface in the full image).
    shape = (60, 70, 40)
    pred = ball(shape, (5, 30, 2), 6)
    ref = ball(shape, (7, 33, 0), 5)
    spacing = (0.9, 0.9, 2.5)
    for percentile in (95, None):
        assert hausdorff_distance(pred, ref, spacing, percentile, "pooled")[1] == pytest.approx(
            medpy_hd(pred, ref, spacing, percentile), rel=1e-12
        )
        assert hausdorff_distance(pred, ref, spacing, percentile, "max")[1] == pytest.approx(
            monai_hd(pred, ref, spacing, percentile), rel=1e-6
        )


# --- classes --------------------------------------------------------------------------


def test_multiclass_label_map_and_one_hot_agree():
    rng = np.random.default_rng(7)
    pred = rng.integers(0, 3, size=(10, 12))
    ref = rng.integers(0, 3, size=(10, 12))
    labels = hausdorff_distance(pred, ref, (1.0, 2.0), 95, num_classes=3)
    assert set(labels) == {1, 2}
    one_hot_pred = np.stack([pred == c for c in range(3)]).astype(np.uint8)
    one_hot_ref = np.stack([ref == c for c in range(3)]).astype(np.uint8)
    one_hot = hausdorff_distance(one_hot_pred, one_hot_ref, (1.0, 2.0), 95, one_hot=True)
    assert one_hot == labels
    with_bg = hausdorff_distance(pred, ref, (1.0, 2.0), 95, num_classes=3, include_background=True)
    assert set(with_bg) == {0, 1, 2}
    assert hausdorff_distance(pred, ref, (1.0, 2.0), 95, num_classes=3, classes=[2]) == {
        2: labels[2]
    }


# --- empty masks ----------------------------------------------------------------------

SHAPE = (4, 6, 5)
FULL_DIAGONAL = math.sqrt((4 * 0.5) ** 2 + (6 * 1.0) ** 2 + (5 * 2.0) ** 2)


def _masks(which):
    pred = np.zeros(SHAPE, dtype=int)
    ref = np.zeros(SHAPE, dtype=int)
    if which in ("pred", "neither"):
        ref[1:3, 1:3, 1:3] = 1
    if which in ("ref", "neither"):
        pred[1:3, 2:4, 1:3] = 1
    return pred, ref


@pytest.mark.parametrize("empty_side", ["pred", "ref"])
@pytest.mark.parametrize(
    ("missing", "expected"), [("inf", math.inf), ("nan", math.nan), ("diagonal", FULL_DIAGONAL)]
)
@pytest.mark.parametrize("mode", ["max", "pooled"])
@pytest.mark.parametrize("percentile", [95, None])
def test_one_empty_mask(empty_side, missing, expected, mode, percentile):
    pred, ref = _masks(empty_side)
    value = hausdorff_distance(pred, ref, (0.5, 1.0, 2.0), percentile, mode, missing=missing)[1]
    if math.isnan(expected):
        assert math.isnan(value)
    else:
        assert value == pytest.approx(expected)


@pytest.mark.parametrize("missing", ["inf", "nan", "diagonal"])
def test_both_empty(missing):
    pred, ref = _masks("both")
    assert hausdorff_distance(pred, ref, percentile=95, missing=missing) == {1: 0.0}
    value = hausdorff_distance(pred, ref, percentile=95, missing=missing, empty="nan")[1]
    assert math.isnan(value)


# --- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"percentile": 101}, "percentile"),
        ({"percentile": -1}, "percentile"),
        ({"percentile": float("nan")}, "percentile"),
        ({"mode": "mean"}, "mode"),
        ({"missing": "zero"}, "missing"),
        ({"empty": "zero"}, "empty"),
        ({"spacing": (1.0, 1.0, 1.0)}, "spacing"),
        ({"spacing": (1.0, 0.0)}, "spacing"),
        ({"spacing": (1.0, -2.0)}, "spacing"),
        ({"num_classes": 1}, "pred"),
        ({"classes": [5]}, "classes"),
    ],
)
def test_bad_arguments(kwargs, match):
    pred = np.zeros((4, 4), dtype=int)
    pred[1, 1] = 1
    with pytest.raises(ValueError, match=match):
        hausdorff_distance(pred, pred, **kwargs)


def test_bad_inputs():
    a = np.zeros((4, 4), dtype=int)
    with pytest.raises(ValueError, match="same shape"):
        hausdorff_distance(a, np.zeros((4, 5), dtype=int))
    with pytest.raises(ValueError, match=r"pred values must lie in \[0, 2\)"):
        hausdorff_distance(a + 2, a)
    with pytest.raises(ValueError, match="ref"):
        hausdorff_distance(a, a - 1)
    with pytest.raises(ValueError, match="spatial dimensions"):
        hausdorff_distance(np.zeros(4, dtype=int), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="one-hot"):
        hausdorff_distance(np.full((2, 4, 4), 2), np.zeros((2, 4, 4)), one_hot=True)
