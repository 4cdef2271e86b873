"""The surface/distance engine: definition vs scipy erosion, cropping, both engines agree."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import binary_erosion, distance_transform_edt, generate_binary_structure

from boundaryloss.metrics import _surface

from .reference import ball, random_pair


@pytest.mark.parametrize("seed", range(5))
def test_surface_is_mask_xor_face_erosion_with_background_border(seed):
    rng = np.random.default_rng(seed)
    mask, _ = random_pair(rng, (7, 8, 9) if seed % 2 else (10, 11))
    structure = generate_binary_structure(mask.ndim, 1)
    expected = mask ^ binary_erosion(mask, structure=structure, border_value=0)
    np.testing.assert_array_equal(_surface.surface(mask), expected)


def test_bounding_box():
    mask = np.zeros((10, 12, 14), dtype=bool)
    assert _surface.bounding_box(mask) is None
    mask[2, 5, 7] = mask[4, 3, 13] = True
    assert _surface.bounding_box(mask) == (slice(2, 5), slice(3, 6), slice(7, 14))


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.0, 2.0, 2.0), (0.7, 1.1, 2.9)])
def test_distance_to_matches_scipy(spacing):
    rng = np.random.default_rng(0)
    target = rng.random((9, 10, 11)) < 0.05
    target[0, 0, 0] = True
    expected = distance_transform_edt(~target, sampling=spacing)
    np.testing.assert_allclose(_surface.distance_to(target, spacing), expected, rtol=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_engines_agree(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    pred, ref = random_pair(rng, (8, 9, 10))
    spacing = (0.9, 1.3, 2.1)
    monkeypatch.setattr(_surface, "DENSE_MIN_VOXELS", 0)
    monkeypatch.setattr(_surface, "DENSE_SURFACE_FRACTION", 2.0)
    tree = _surface.surface_distances(pred, ref, spacing)
    monkeypatch.setattr(_surface, "DENSE_SURFACE_FRACTION", 0.0)
    dense = _surface.surface_distances(pred, ref, spacing)
    np.testing.assert_allclose(tree.pred_to_ref, dense.pred_to_ref, rtol=1e-6)
    np.testing.assert_allclose(tree.ref_to_pred, dense.ref_to_pred, rtol=1e-6)


def test_crop_does_not_change_distances():
    shape = (50, 40, 30)
    pred = ball(shape, (3, 20, 15), 4)  # touches the image edge on axis 0
    ref = ball(shape, (5, 22, 15), 4)
    spacing = (1.0, 0.8, 2.0)
    cropped = _surface.surface_distances(pred, ref, spacing)
    # Uncropped reference computation: scipy on the full image.
    structure = generate_binary_structure(3, 1)
    pred_surface = pred ^ binary_erosion(pred, structure=structure)
    ref_surface = ref ^ binary_erosion(ref, structure=structure)
    expected = distance_transform_edt(~ref_surface, sampling=spacing)[pred_surface]
    np.testing.assert_allclose(cropped.pred_to_ref, expected, rtol=1e-12)
