"""The pipeline transform computes the right map into the right key."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boundaryloss.maps import DistanceMapTransform, rrw_map, signed_distance_map

from .reference import REFERENCES, per_class, rrw


def test_dict_sample_uses_its_spacing_and_channel_first_label():
    label = np.zeros((1, 9, 8), dtype=np.int64)
    label[0, 2:6, 3:7] = 1
    sample = {"image": np.zeros((1, 9, 8)), "label": label, "spacing": (2.0, 0.5)}
    out = DistanceMapTransform("signed", 2)(sample)
    assert set(out) == {"image", "label", "spacing", "dist_map"}
    np.testing.assert_array_equal(out["dist_map"], signed_distance_map(label[0], 2, (2.0, 0.5)))
    assert "dist_map" not in sample  # the input sample is not modified


def test_array_and_tensor_samples():
    label = torch.zeros(6, 6, dtype=torch.long)
    label[1:3, 1:4] = 2
    out = DistanceMapTransform("rrw", 3, spacing=(1.0, 1.5))(label)
    assert torch.equal(out, rrw_map(label, 3, (1.0, 1.5)))
    assert DistanceMapTransform("ac", 3).output_key == "rw_map"


def test_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        DistanceMapTransform("bogus", 2)
    with pytest.raises(ValueError, match="convention"):
        DistanceMapTransform("signed", 2, convention="nope")
    with pytest.raises(ValueError, match="'label'"):
        DistanceMapTransform("signed", 2)({"image": np.zeros((3, 3))})


def _blob(shape, seed=0):
    rng = np.random.default_rng(seed)
    label = np.zeros(shape, dtype=np.int64)
    centre = [s // 2 for s in shape]
    grid = np.indices(shape)
    radius = sum(((g - c) / (s / 3)) ** 2 for g, c, s in zip(grid, centre, shape, strict=True))
    label[radius < 1] = 1
    label[(radius < 1) & (grid[0] < centre[0])] = 2
    label[rng.random(shape) < 0.01] = 0
    return label


@pytest.mark.parametrize("convention", ["paper", "official", "rw"])
def test_metatensor_pixdim_is_the_spacing(convention):
    from monai.data import MetaTensor

    label = _blob((14, 12, 9))
    affine = np.diag([0.5, 0.5, 2.0, 1.0])
    meta_label = MetaTensor(torch.from_numpy(label)[None], affine=torch.from_numpy(affine))
    out = DistanceMapTransform("signed", 3, convention=convention)({"label": meta_label})
    expected = per_class(REFERENCES[convention], label, 3, (0.5, 0.5, 2.0))
    np.testing.assert_allclose(np.asarray(out["dist_map"]), expected, rtol=1e-5, atol=1e-5)
    unit = per_class(REFERENCES[convention], label, 3, None)
    assert not np.allclose(np.asarray(out["dist_map"]), unit)  # the spacing mattered


def test_metatensor_spacing_from_a_rotated_affine_and_array_call():
    from monai.data import MetaTensor

    label = _blob((10, 12, 8), seed=1)
    # Array axes rotated and permuted in the world frame: column lengths 0.8, 1.5, 2.5.
    angle = 0.3
    rotation = np.array(
        [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]
    )
    affine = np.eye(4)
    permutation = np.eye(3)[[2, 0, 1]]
    affine[:3, :3] = permutation @ rotation @ np.diag([0.8, 1.5, 2.5])
    meta_label = MetaTensor(torch.from_numpy(label)[None], affine=torch.from_numpy(affine))
    out = DistanceMapTransform("rrw", 3)(meta_label)
    expected = np.stack([rrw(label == k, (0.8, 1.5, 2.5)) for k in range(3)])
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-6)


def test_metatensor_2d_label_with_a_4x4_affine():
    from monai.data import MetaTensor

    label = _blob((16, 11), seed=2)
    meta_label = MetaTensor(
        torch.from_numpy(label)[None], affine=torch.diag(torch.tensor([0.7, 1.9, 3.0, 1.0]))
    )
    out = DistanceMapTransform("signed", 3)(meta_label)
    expected = per_class(REFERENCES["paper"], label, 3, (0.7, 1.9))
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-5)


def test_spacing_precedence_explicit_then_metadata_then_dict_entry():
    from monai.data import MetaTensor

    label = _blob((12, 10, 8), seed=3)
    meta_label = MetaTensor(
        torch.from_numpy(label)[None], affine=torch.diag(torch.tensor([0.5, 0.5, 2.0, 1.0]))
    )
    sample = {"label": meta_label, "spacing": np.array([3.0, 3.0, 3.0])}
    from_meta = DistanceMapTransform("signed", 3)(sample)["dist_map"]
    explicit = DistanceMapTransform("signed", 3, spacing=(1.0, 2.0, 1.0))(sample)["dist_map"]
    plain = DistanceMapTransform("signed", 3)({"label": label[None], "spacing": (3.0, 3.0, 3.0)})
    ref = REFERENCES["paper"]
    np.testing.assert_allclose(
        np.asarray(from_meta), per_class(ref, label, 3, (0.5, 0.5, 2.0)), atol=1e-5
    )
    np.testing.assert_allclose(
        np.asarray(explicit), per_class(ref, label, 3, (1.0, 2.0, 1.0)), atol=1e-5
    )
    np.testing.assert_allclose(plain["dist_map"], per_class(ref, label, 3, (3.0,) * 3), atol=1e-5)
