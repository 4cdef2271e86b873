"""The pipeline transform computes the right map into the right key."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boundaryloss.maps import DistanceMapTransform, rrw_map, signed_distance_map


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
