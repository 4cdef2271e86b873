"""The inside transform of integer-label maps runs on the selected classes' box only,
and only for their pixels (the other classes' pixels are zeros of it): bit-identical to
the uncropped transform of every class, and to the scipy reference within float32."""

from __future__ import annotations

import numpy as np
import pytest

from boundaryloss._validation import select_classes
from boundaryloss.maps import set_backend, signed_distance_map
from boundaryloss.maps import signed as signed_module
from boundaryloss.maps._geometry import interface_mask

from .reference import REFERENCES, per_class
from .test_signed import count_transforms

CONVENTIONS = ("paper", "official", "rw")
#: (include_background, classes) as the losses select them.
SELECTIONS = ((False, None), (True, None), (False, [1]), (True, [0]), ("last", None))


def structures(rng: np.random.Generator, shape: tuple[int, ...], num_classes: int) -> np.ndarray:
    """Background with a few boxes and speckled boxes of random classes, some cut by the
    image edge, some one pixel thick: small classes in a larger image, where the crop
    matters."""
    label = np.zeros(shape, dtype=np.int64)
    for _ in range(rng.integers(1, 6)):
        k = rng.integers(1, num_classes)
        lo = [int(rng.integers(-2, n)) for n in shape]
        size = [int(rng.integers(1, max(2, n // 2 + 1))) for n in shape]
        box = tuple(slice(max(a, 0), max(a + s, 0)) for a, s in zip(lo, size, strict=True))
        region = label[box]
        density = rng.choice([1.0, 0.85, 0.4])
        region[rng.random(region.shape) < density] = k
    return label


@pytest.fixture(autouse=True)
def crop_every_size(monkeypatch):
    """Crop whatever the image size: the random cases are small, exactness does not
    depend on the size gate."""
    monkeypatch.setattr(signed_module, "CROP_MIN_PIXELS", 0)


def uncropped(monkeypatch) -> None:
    """Make the kernel run its inside transform on the whole image (the previous code)."""
    monkeypatch.setattr(signed_module, "_inside_box", lambda pixels, shape, xp: None)


def selection(choice, num_classes: int) -> tuple[bool, list[int] | None]:
    include_background, classes = choice
    if include_background == "last":
        return False, [num_classes - 1]
    return include_background, classes


def random_case(seed: int):
    rng = np.random.default_rng(seed)
    ndim = int(rng.integers(2, 4))
    shape = tuple(int(n) for n in rng.integers(1, 40 if ndim == 2 else 14, size=ndim))
    num_classes = int(rng.integers(2, 5))
    label = structures(rng, shape, num_classes)
    spacing = tuple(float(s) for s in rng.choice([0.3, 0.7, 0.9, 1.0, 1.3, 2.5], size=ndim))
    return label, num_classes, spacing


@pytest.mark.parametrize("backend", ["edt", "scipy"])
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_cropped_inside_transform_is_bit_identical_to_the_uncropped_one(
    monkeypatch, backend, convention
):
    cases = [random_case(seed) for seed in range(150 if backend == "edt" else 40)]
    set_backend(backend)
    try:
        for label, num_classes, spacing in cases:
            for choice in SELECTIONS:
                include_background, classes = selection(choice, num_classes)
                args = (label, num_classes, spacing, convention)
                options = {"include_background": include_background, "classes": classes}
                with monkeypatch.context() as patch:
                    uncropped(patch)
                    expected = signed_distance_map(*args, **options)
                    # every class selected: the inside transform of the whole image with
                    # every pixel a label (nothing cropped, nothing made a zero)
                    every_class = signed_distance_map(*args)
                ours = signed_distance_map(*args, **options)
                # bit-identical, -0.0 vs 0.0 included
                np.testing.assert_array_equal(ours.view(np.uint32), expected.view(np.uint32))
                chosen = list(select_classes(num_classes, include_background, classes))
                np.testing.assert_array_equal(
                    ours[chosen].view(np.uint32), every_class[chosen].view(np.uint32)
                )
    finally:
        set_backend(None)


def edge_case(case: str, shape: tuple[int, ...]) -> np.ndarray:
    """Labels of 4 classes with one structure (classes 2 and 3 absent unless placed)."""
    label = np.zeros(shape, dtype=np.int64)
    everywhere = (slice(None),) * len(shape)
    if case == "single pixel":
        label[(3,) * len(shape)] = 2
    elif case == "touches every edge":
        label[everywhere] = 1
        label[(slice(4, 6),) * len(shape)] = 0
    elif case == "touches one corner":
        label[(slice(0, 3),) * len(shape)] = 1
    elif case == "one pixel thick":
        label[slice(1, -1), 4] = 2
    elif case == "full class":
        label[everywhere] = 1
    else:  # a box inside the image
        label[(slice(2, 5),) * len(shape)] = 1
    return label


EDGE_CASES = (
    "box",
    "single pixel",
    "touches every edge",
    "touches one corner",
    "one pixel thick",
    "full class",
)


@pytest.mark.parametrize("case", EDGE_CASES)
@pytest.mark.parametrize("shape", [(13, 17), (9, 11, 8)])
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_edge_cases_equal_the_uncropped_map_and_the_scipy_reference(
    monkeypatch, case, shape, convention
):
    label = edge_case(case, shape)
    spacing = (0.7, 1.3, 2.0)[: len(shape)]
    ours = signed_distance_map(label, 4, spacing, convention, include_background=False)
    with monkeypatch.context() as patch:
        uncropped(patch)
        expected = signed_distance_map(label, 4, spacing, convention, include_background=False)
    np.testing.assert_array_equal(ours.view(np.uint32), expected.view(np.uint32))
    reference = per_class(REFERENCES[convention], label, 4, spacing)
    np.testing.assert_allclose(ours[1:], reference[1:], rtol=1e-5, atol=1e-5)


def test_the_inside_transform_runs_on_the_selected_classes_box(monkeypatch):
    label = np.zeros((30, 40, 20), dtype=np.int64)
    label[5:9, 10:20, 3:6] = 1
    label[10:12, 12:15, 4:9] = 2
    calls = count_transforms(monkeypatch)
    foreground = signed_distance_map(label, 3, (1.0, 0.5, 2.0), include_background=False)
    # the insides on rows 5..11, columns 10..19, slices 3..8, grown by one pixel; then
    # one whole-image outside transform per class
    assert calls == [(9, 12, 8), (30, 40, 20), (30, 40, 20)]
    reference = per_class(REFERENCES["paper"], label, 3, (1.0, 0.5, 2.0))
    np.testing.assert_allclose(foreground[1:], reference[1:], rtol=1e-5, atol=1e-5)
    calls.clear()
    signed_distance_map(label, 3, (1.0, 0.5, 2.0))  # with the background: whole image
    assert calls[0] == (30, 40, 20)
    calls.clear()
    monkeypatch.setattr(signed_module, "CROP_MIN_PIXELS", label.size + 1)
    signed_distance_map(label, 3, (1.0, 0.5, 2.0), include_background=False)
    assert calls[0] == (30, 40, 20)  # too small to be worth finding the box


@pytest.mark.parametrize("ndim", [2, 3])
def test_flipped_and_strided_labels_give_the_map_of_their_contiguous_copy(monkeypatch, ndim):
    rng = np.random.default_rng(4)
    shape = (30, 26) if ndim == 2 else (14, 12, 10)
    base = structures(rng, shape, 3)
    views = {
        "flipped": base[::-1, ..., ::-1],
        "every other row": base[::2],
        "transposed": base.T,
    }
    spacing = (0.7, 1.3, 2.0)[:ndim]
    for name, view in views.items():
        assert not view.flags.c_contiguous, name
        copy = np.ascontiguousarray(view)
        for convention in CONVENTIONS:
            ours = signed_distance_map(view, 3, spacing, convention, include_background=False)
            expected = signed_distance_map(copy, 3, spacing, convention, include_background=False)
            np.testing.assert_array_equal(ours.view(np.uint32), expected.view(np.uint32))
            with monkeypatch.context() as patch:
                uncropped(patch)
                whole = signed_distance_map(view, 3, spacing, convention, include_background=False)
            np.testing.assert_array_equal(ours.view(np.uint32), whole.view(np.uint32))
            reference = per_class(REFERENCES[convention], copy, 3, spacing)
            np.testing.assert_allclose(ours[1:], reference[1:], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_the_inside_transform_sees_only_the_selected_classes_pixels(monkeypatch, convention):
    """The background (and any unselected class) is made zeros of the inside transform,
    so the transform skips it; with every class selected nothing is zeroed."""
    from boundaryloss.maps import _backend

    label = np.zeros((30, 40), dtype=np.int64)
    label[5:20, 10:30] = 1
    label[8:12, 12:16] = 2
    label[22:28, 3:9] = 3
    seen: list[np.ndarray] = []
    original = _backend.distance_to_other_label

    def recorded(labels, spacing):
        seen.append(np.array(labels))
        return original(labels, spacing)

    monkeypatch.setattr(signed_module, "distance_to_other_label", recorded)
    signed_distance_map(label, 4, (0.7, 1.3), convention, classes=[1, 2])
    inside = seen[0]  # the shared inside transform comes first (on the box of 1 and 2)
    assert inside.shape == (17, 22)
    box = label[4:21, 9:31]
    assert not inside[(box == 0) | (box == 3)].any()
    if convention != "paper":  # the paper's zeros also mark the interfaces
        np.testing.assert_array_equal(inside[box == 1], 2)
        np.testing.assert_array_equal(inside[box == 2], 3)
    seen.clear()
    signed_distance_map(label, 4, (0.7, 1.3), convention)
    assert seen[0].shape == label.shape
    background = label == 0
    if convention == "paper":
        background &= ~interface_mask(label)
    np.testing.assert_array_equal(seen[0][background], 1)
