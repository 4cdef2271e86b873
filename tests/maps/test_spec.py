"""MapSpec: defaults, normalisation (a convention a map ignores cannot make specs differ)."""

from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.maps import DistanceMapTransform, MapSpec, compute_map


def test_defaults_follow_the_map_functions_and_the_loss_keywords():
    assert MapSpec("signed") == MapSpec("signed", "paper", "dist_map")
    assert MapSpec("unsigned") == MapSpec("unsigned", "rw", "dist_map")
    assert MapSpec("rrw").argument == MapSpec("ac").argument == "rw_map"
    assert MapSpec("signed", "rw", "rw_map").argument == "rw_map"


@pytest.mark.parametrize("kind", ["rrw", "ac"])
def test_a_convention_the_map_ignores_is_dropped(kind):
    assert MapSpec(kind, "rw") == MapSpec(kind, "paper") == MapSpec(kind)
    assert MapSpec(kind, "official").convention is None
    label = np.zeros((6, 6), dtype=np.int64)
    label[1:4, 2:5] = 1
    np.testing.assert_array_equal(  # ... because the map really does not depend on it
        compute_map(kind, label, 2, None, "rw"), compute_map(kind, label, 2, None, "official")
    )


def test_distance_kinds_keep_their_convention():
    assert MapSpec("signed", "official") != MapSpec("signed", "paper")


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        (("distance",), "kind must be one of"),
        (("signed", "kervadec"), "convention must be one of"),
        (("rrw", None, "weights"), "argument must be one of"),
    ],
)
def test_bad_specs(arguments, match):
    with pytest.raises(ValueError, match=match):
        MapSpec(*arguments)


def test_the_transform_stores_maps_under_the_spec_keyword():
    assert DistanceMapTransform("rrw", 2).output_key == MapSpec("rrw").argument
    assert DistanceMapTransform("unsigned", 2).output_key == "dist_map"
    assert DistanceMapTransform("signed", 2, output_key="rw_map").output_key == "rw_map"
