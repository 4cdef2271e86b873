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


def test_the_channel_selection_is_normalised():
    assert MapSpec("signed", classes=[2, 1]).classes == (1, 2)
    # with explicit classes, include_background only says whether 0 is among them
    assert MapSpec("signed", classes=[2, 1]) == MapSpec(
        "signed", include_background=False, classes=[1, 2]
    )
    assert MapSpec("signed", classes=[0, 2]).include_background
    assert MapSpec("signed").channels(3) == (0, 1, 2)
    assert MapSpec("signed", classes=[0, 1]).channels(3) == (0, 1)
    assert MapSpec("signed", include_background=False).channels(3) == (1, 2)
    assert MapSpec("unsigned", classes=[2]).channels(4) == (2,)
    # region-wise maps are computed for every channel in one pass: no selection to keep
    assert MapSpec("rrw", include_background=False) == MapSpec("rrw")
    assert MapSpec("ac", classes=[1]).channels(3) == (0, 1, 2)
    with pytest.raises(ValueError, match="include_background=False"):
        MapSpec("signed", include_background=False, classes=[0, 1])


@pytest.mark.parametrize(
    ("first", "second", "union"),
    [
        (
            {"include_background": False},
            {"include_background": False},
            {"include_background": False},
        ),
        ({"include_background": False}, {}, {}),
        ({"include_background": False}, {"classes": [2]}, {"include_background": False}),
        ({"include_background": False}, {"classes": [0]}, {}),
        ({"classes": [1]}, {"classes": [3, 0]}, {"classes": [0, 1, 3]}),
    ],
)
def test_merged_reads_the_union_of_the_channels(first, second, union):
    a, b = MapSpec("signed", **first), MapSpec("signed", **second)
    assert a.merged(b) == b.merged(a) == MapSpec("signed", **union)


def test_only_the_same_map_merges():
    assert MapSpec("signed", classes=[1]).same_map(MapSpec("signed", include_background=False))
    assert not MapSpec("signed").same_map(MapSpec("signed", "official"))
    assert not MapSpec("signed").same_map(MapSpec("signed", argument="rw_map"))
    with pytest.raises(ValueError, match="different maps"):
        MapSpec("signed").merged(MapSpec("signed", "official"))
    with pytest.raises(ValueError, match="different maps"):
        MapSpec("signed").merged(MapSpec("unsigned", "paper"))


@pytest.mark.parametrize("kind", ["signed", "unsigned"])
def test_a_spec_computes_only_its_channels(kind):
    label = np.zeros((9, 8, 7), dtype=np.int64)
    label[1:4, 2:6, 1:5] = 1
    label[5:8, 3:7, 2:6] = 2
    spacing = (1.5, 0.5, 1.0)
    spec = MapSpec(kind, include_background=False)
    full = compute_map(kind, label, 3, spacing, spec.convention)
    part = spec.compute(label, 3, spacing)
    np.testing.assert_array_equal(part[1:], full[1:])
    assert not part[0].any() and full[0].any()
    transform = DistanceMapTransform.from_spec(spec, 3)
    assert transform.output_key == "dist_map" and transform.spec == spec
    np.testing.assert_array_equal(transform({"label": label, "spacing": spacing})["dist_map"], part)


def test_region_wise_kinds_refuse_a_channel_selection():
    label = np.zeros((6, 6), dtype=np.int64)
    with pytest.raises(ValueError, match="computes every channel"):
        compute_map("rrw", label, 2, include_background=False)
