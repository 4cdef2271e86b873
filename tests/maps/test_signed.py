"""Signed and unsigned distance maps against pinned cases and a scipy reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaryloss.maps import set_backend, signed_distance_map, unsigned_distance_map

from .reference import REFERENCES, boundary_set, per_class


def square(size: int, lo: int, hi: int, ndim: int = 2) -> np.ndarray:
    label = np.zeros((size,) * ndim, dtype=np.int64)
    label[(slice(lo, hi),) * ndim] = 1
    return label


# --- the original repository's pinned cases -------------------------------------------


@pytest.mark.parametrize("convention", ["paper", "official"])
@pytest.mark.parametrize("side", [2, 3, 5, 10])
def test_square_has_exactly_4_l_minus_1_zeros(convention, side):
    label = np.zeros((20, 20), dtype=np.int64)
    label[4 : 4 + side, 5 : 5 + side] = 1
    fg = signed_distance_map(label, 2, convention=convention)[1]
    assert (fg == 0).sum() == 4 * (side - 1)


@pytest.mark.parametrize("convention", ["paper", "official"])
def test_big_box_extremes_at_centre(convention):
    label = np.zeros((256, 256), dtype=np.int64)
    label[1:254, 1:254] = 1
    maps = signed_distance_map(label, 2, convention=convention)
    assert maps[1].min() == -126
    assert maps[1][127, 127] == -126
    assert maps[0].max() == 127
    assert maps[0][127, 127] == 127


@pytest.mark.parametrize("convention", ["paper", "official", "rw"])
def test_absent_and_full_classes_are_zero(convention):
    label = np.zeros((8, 9), dtype=np.int64)
    label[2:5, 3:6] = 2
    maps = signed_distance_map(label, 4, convention=convention)
    assert np.all(maps[1] == 0) and np.all(maps[3] == 0)
    full = signed_distance_map(np.zeros((6, 7), dtype=np.int64), 2, convention=convention)
    assert np.all(full == 0)


def test_hand_computed_3x3_square():
    label = square(5, 1, 4)
    expected = np.array(
        [
            [np.sqrt(2), 1, 1, 1, np.sqrt(2)],
            [1, 0, 0, 0, 1],
            [1, 0, -1, 0, 1],
            [1, 0, 0, 0, 1],
            [np.sqrt(2), 1, 1, 1, np.sqrt(2)],
        ]
    )
    np.testing.assert_allclose(signed_distance_map(label, 2)[1], expected, rtol=1e-6)
    np.testing.assert_allclose(
        signed_distance_map(label, 2, convention="official")[1], expected, rtol=1e-6
    )
    np.testing.assert_allclose(
        signed_distance_map(label, 2, convention="rw")[1],
        np.where(label == 1, expected - 1, expected),
        rtol=1e-6,
    )


def test_hand_computed_anisotropic_column():
    # A 1-pixel-wide horizontal line at row 2; rows are 2 mm apart, columns 0.5 mm.
    label = np.zeros((5, 4), dtype=np.int64)
    label[2, :] = 1
    fg = signed_distance_map(label, 2, spacing=(2.0, 0.5))[1]
    np.testing.assert_allclose(fg[:, 0], [4.0, 2.0, 0.0, 2.0, 4.0])


# --- spacing: the paper convention is exact, the official one is not --------------------


@pytest.mark.parametrize("spacing", [(0.9, 0.9), (1.0, 0.5)])
def test_paper_convention_signs_and_lipschitz_under_spacing(spacing):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:40, :50]
    label = (((yy - 20) * spacing[0]) ** 2 + ((xx - 22) * spacing[1]) ** 2 < 12**2).astype(int)
    label[5:9, 30:45] = 1  # a second, thin structure
    phi = signed_distance_map(label, 2, spacing=spacing)[1]
    mask = label == 1
    edge = boundary_set(mask)
    assert np.all(phi[edge] == 0)
    assert np.all(phi[mask & ~edge] < 0)
    assert np.all(phi[~mask] > 0)

    points = np.argwhere(np.ones_like(mask))
    a = points[rng.integers(len(points), size=4000)]
    b = points[rng.integers(len(points), size=4000)]
    same_side = mask[tuple(a.T)] == mask[tuple(b.T)]
    physical = np.sqrt((((a - b) * np.asarray(spacing)) ** 2).sum(1))
    jump = np.abs(phi[tuple(a.T)] - phi[tuple(b.T)])
    assert np.all(jump[same_side] <= physical[same_side] + 1e-5)


def test_official_convention_is_positive_inside_under_sub_unit_spacing():
    label = square(12, 2, 10)
    official = signed_distance_map(label, 2, spacing=(0.9, 0.9), convention="official")[1]
    boundary = boundary_set(label == 1)
    np.testing.assert_allclose(official[boundary], 0.1, rtol=1e-5)
    assert np.all(official[boundary] > 0)  # the documented flaw
    paper = signed_distance_map(label, 2, spacing=(0.9, 0.9))[1]
    assert np.all(paper[label == 1] <= 0)


# --- equality with the formulas evaluated by scipy --------------------------------------


def random_labels(rng, shape, num_classes, blobs=True):
    if not blobs:
        return rng.integers(0, num_classes, size=shape)
    noise = rng.normal(size=shape)
    from scipy import ndimage

    smooth = ndimage.gaussian_filter(noise, 1.5)
    edges = np.quantile(smooth, np.linspace(0, 1, num_classes + 1)[1:-1])
    return np.digitize(smooth, edges)


@pytest.mark.parametrize("convention", ["paper", "official", "rw"])
@pytest.mark.parametrize("shape", [(23, 31), (11, 14, 9)])
@pytest.mark.parametrize("num_classes", [2, 4])
@pytest.mark.parametrize("spacing", [None, (0.7, 1.3, 2.0)])
def test_matches_scipy_reference(convention, shape, num_classes, spacing):
    rng = np.random.default_rng(42)
    label = random_labels(rng, shape, num_classes)
    spacing = None if spacing is None else spacing[: len(shape)]
    ours = signed_distance_map(label, num_classes, spacing, convention)
    expected = per_class(REFERENCES[convention], label, num_classes, spacing)
    assert ours.dtype == np.float32 and ours.shape == (num_classes, *shape)
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    ndim=st.sampled_from([2, 3]),
    num_classes=st.integers(1, 4),
    convention=st.sampled_from(["paper", "official", "rw"]),
    anisotropic=st.booleans(),
    blobs=st.booleans(),
)
def test_property_equals_reference(seed, ndim, num_classes, convention, anisotropic, blobs):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(3, 16 if ndim == 2 else 9, size=ndim))
    label = random_labels(rng, shape, num_classes, blobs)
    spacing = tuple(rng.uniform(0.3, 3.0, size=ndim)) if anisotropic else None
    ours = signed_distance_map(label, num_classes, spacing, convention)
    expected = per_class(REFERENCES[convention], label, num_classes, spacing)
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)
    if convention == "paper":
        for k in range(num_classes):
            mask = label == k
            if mask.any() and not mask.all():
                edge = boundary_set(mask)
                assert np.all(ours[k][edge] == 0)
                assert np.all(ours[k][mask & ~edge] < 0)
                assert np.all(ours[k][~mask] > 0)


@pytest.mark.parametrize("convention", ["paper", "official", "rw"])
def test_one_hot_and_overlapping_masks(convention):
    rng = np.random.default_rng(3)
    label = random_labels(rng, (17, 19), 3)
    one_hot = np.stack([label == k for k in range(3)]).astype(np.uint8)
    np.testing.assert_allclose(
        signed_distance_map(one_hot, 3, convention=convention, one_hot=True),
        signed_distance_map(label, 3, convention=convention),
    )
    overlapping = np.stack([label >= 1, label == 2, np.zeros_like(label, bool)])
    expected = np.stack([REFERENCES[convention](m) for m in overlapping])
    np.testing.assert_allclose(
        signed_distance_map(overlapping, None, convention=convention, one_hot=True),
        expected,
        rtol=1e-5,
        atol=1e-5,
    )


def test_batch_torch_and_float_labels():
    rng = np.random.default_rng(5)
    labels = np.stack([random_labels(rng, (12, 13), 3) for _ in range(4)])
    batched = signed_distance_map(torch.from_numpy(labels), 3, batch=True)
    assert isinstance(batched, torch.Tensor) and batched.dtype == torch.float32
    assert batched.shape == (4, 3, 12, 13)
    for i in range(4):
        np.testing.assert_array_equal(batched[i].numpy(), signed_distance_map(labels[i], 3))
    as_float = signed_distance_map(labels[0].astype(np.float32), 3)
    np.testing.assert_array_equal(as_float, signed_distance_map(labels[0], 3))


def test_scipy_backend_equals_edt_backend():
    rng = np.random.default_rng(8)
    label = random_labels(rng, (9, 10, 11), 3)
    fast = signed_distance_map(label, 3, (1.0, 1.5, 0.5))
    set_backend("scipy")
    try:
        slow = signed_distance_map(label, 3, (1.0, 1.5, 0.5))
    finally:
        set_backend(None)
    np.testing.assert_allclose(fast, slow, rtol=1e-6, atol=1e-6)


def test_unsigned_is_absolute_value_and_matches_two_sided_edt():
    rng = np.random.default_rng(9)
    label = random_labels(rng, (15, 16), 2)
    mask = label == 1
    from scipy import ndimage

    expected = ndimage.distance_transform_edt(mask) + ndimage.distance_transform_edt(~mask)
    np.testing.assert_allclose(unsigned_distance_map(label, 2)[1], expected, rtol=1e-6)
    np.testing.assert_array_equal(
        unsigned_distance_map(label, 2, convention="paper"),
        np.abs(signed_distance_map(label, 2)),
    )


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"label": np.zeros((4, 4), int), "num_classes": 2, "spacing": (1.0,)}, "spacing"),
        ({"label": np.zeros((4, 4), int), "num_classes": 2, "spacing": (1.0, 0.0)}, "spacing"),
        ({"label": np.zeros((4, 4), int), "num_classes": 2, "spacing": (1.0, -2)}, "spacing"),
        ({"label": np.full((4, 4), 3), "num_classes": 2}, r"label values must lie in \[0, 2\)"),
        ({"label": np.full((4, 4), -1), "num_classes": 2}, "label values"),
        ({"label": np.full((4, 4), 0.5), "num_classes": 2}, "non-integral"),
        ({"label": np.zeros((4, 4), int), "num_classes": 2, "convention": "x"}, "convention"),
        ({"label": np.zeros((4,), int), "num_classes": 2}, "shape"),
        ({"label": np.zeros((2, 2, 2, 2), int), "num_classes": 2}, "shape"),
        ({"label": np.zeros((4, 4), int), "num_classes": 0}, "num_classes"),
        ({"label": [[0, 1]], "num_classes": 2}, "numpy array or a torch tensor"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        signed_distance_map(**kwargs)


def test_bad_one_hot():
    with pytest.raises(ValueError, match="num_classes=3 does not match"):
        signed_distance_map(np.zeros((2, 4, 4)), 3, one_hot=True)
    with pytest.raises(ValueError, match="only 0 and 1"):
        signed_distance_map(np.full((2, 4, 4), 0.5), None, one_hot=True)
    with pytest.raises(ValueError, match="num_classes is required"):
        signed_distance_map(np.zeros((4, 4), int), None)


# --- computing only the channels a consumer reads ---------------------------------------


def count_transforms(monkeypatch) -> list[tuple[int, ...]]:
    """Record the shape of every distance transform the map kernels run."""
    from boundaryloss.maps import _backend, _distances, signed

    calls: list[tuple[int, ...]] = []
    original = _backend.distance_to_other_label

    def counted(labels, spacing):
        calls.append(tuple(labels.shape))
        return original(labels, spacing)

    monkeypatch.setattr(signed, "distance_to_other_label", counted)
    monkeypatch.setattr(_distances, "distance_to_other_label", counted)
    return calls


@pytest.mark.parametrize("convention", ["paper", "official", "rw"])
@pytest.mark.parametrize("shape", [(23, 31), (11, 14, 9), (7, 12, 5)])
@pytest.mark.parametrize("num_classes", [2, 3, 4])
@pytest.mark.parametrize("one_hot", [False, True])
@pytest.mark.parametrize("selection", ["foreground", "last_and_background", "first"])
def test_selected_channels_equal_the_full_map_exactly_and_the_rest_are_zero(
    convention, shape, num_classes, one_hot, selection
):
    include_background, classes = {
        "foreground": (False, None),
        "last_and_background": (True, [num_classes - 1, 0]),
        "first": (False, [1]),
    }[selection]
    rng = np.random.default_rng(7)
    label = random_labels(rng, shape, num_classes)
    spacing = (0.7, 1.3, 2.0)[: len(shape)]
    if one_hot:
        label = label[None] == np.arange(num_classes).reshape(-1, *(1,) * len(shape))
    options = {"one_hot": one_hot}
    full = signed_distance_map(label, num_classes, spacing, convention, **options)
    part = signed_distance_map(
        label,
        num_classes,
        spacing,
        convention,
        include_background=include_background,
        classes=classes,
        **options,
    )
    selected = sorted(classes) if classes is not None else range(1, num_classes)
    for k in range(num_classes):
        if k in selected:
            np.testing.assert_array_equal(part[k], full[k])  # bit-identical, not close
        else:
            assert not part[k].any()
    unsigned = unsigned_distance_map(
        label, num_classes, spacing, convention, include_background=False, **options
    )
    np.testing.assert_array_equal(unsigned[1:], np.abs(full[1:]))


def test_leaving_out_the_background_skips_its_outside_transform(monkeypatch):
    label = np.zeros((12, 16, 10), dtype=np.int64)
    label[2:6, 3:9, 2:5] = 1
    label[7:10, 9:14, 4:8] = 2
    calls = count_transforms(monkeypatch)
    full = signed_distance_map(label, 3, (1.0, 0.5, 2.0))
    # one multi-label transform for the insides + one outside transform per class
    assert len(calls) == 4
    calls.clear()
    foreground = signed_distance_map(label, 3, (1.0, 0.5, 2.0), include_background=False)
    assert len(calls) == 3
    np.testing.assert_array_equal(foreground[1:], full[1:])
    calls.clear()
    empty = np.zeros_like(label)  # background only: no selected class has a boundary
    assert not signed_distance_map(empty, 3, include_background=False).any()
    assert calls == []


def test_bad_class_selection():
    label = np.zeros((6, 6), dtype=np.int64)
    with pytest.raises(ValueError, match="out of range"):
        signed_distance_map(label, 2, classes=[2])
    with pytest.raises(ValueError, match="include_background=False"):
        signed_distance_map(label, 2, include_background=False, classes=[0, 1])
