"""Synthetic cases: determinism, exact foreground fraction, classes, difficulty."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from boundaryloss.data import synthetic_2d, synthetic_3d


def _best_threshold_dice(cases) -> float:
    """Dice of the best single intensity threshold over all cases (the trivial classifier)."""
    image = np.concatenate([c.image[0].ravel() for c in cases])
    truth = np.concatenate([c.label.ravel() > 0 for c in cases])
    best = 0.0
    for threshold in np.quantile(image, np.linspace(0.5, 0.9999, 300)):
        predicted = image > threshold
        overlap = np.count_nonzero(predicted & truth)
        best = max(best, 2 * overlap / (np.count_nonzero(predicted) + np.count_nonzero(truth)))
    return best


def test_2d_cases():
    cases = synthetic_2d(3, shape=(64, 80), seed=4)
    assert [c.case_id for c in cases] == ["synth2d_0000", "synth2d_0001", "synth2d_0002"]
    for case in cases:
        assert case.image.shape == (1, 64, 80) and case.image.dtype == np.float32
        assert 0.0 <= case.image.min() and case.image.max() <= 1.0
        assert case.label.shape == (64, 80) and case.label.dtype == np.int64
        assert set(np.unique(case.label)) == {0, 1}
        assert case.spacing == (1.0, 1.0) and case.fov is None
        assert case.spacing_unit == "px"


def test_3d_cases():
    cases = synthetic_3d(2, shape=(24, 32, 20), foreground_fraction=0.02, seed=4)
    for case in cases:
        assert case.image.shape == (1, 24, 32, 20) and case.ndim == 3
        assert case.label.dtype == np.int64 and case.spacing == (1.0, 1.0, 1.0)
        assert case.spacing_unit == "px"
        assert np.count_nonzero(case.label) == round(0.02 * 24 * 32 * 20)
    assert cases[0].case_id == "synth3d_0000"


def test_deterministic_per_seed_and_index():
    first, again = synthetic_2d(4, seed=11), synthetic_2d(4, seed=11)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.label, b.label)
    # case i does not depend on how many cases were asked for
    np.testing.assert_array_equal(synthetic_2d(2, seed=11)[1].image, first[1].image)
    volume = synthetic_3d(1, seed=3)[0].label
    np.testing.assert_array_equal(volume, synthetic_3d(3, seed=3)[0].label)
    assert not np.array_equal(synthetic_2d(1, seed=12)[0].label, first[0].label)
    assert not np.array_equal(first[0].label, first[1].label)


@pytest.mark.parametrize(
    ("fraction", "shape"),
    [(0.2, (128, 128)), (0.01, (128, 128)), (0.001, (128, 128)), (0.0001, (512, 512))],
)
def test_foreground_fraction_is_exact_2d(fraction, shape):
    """The stated tolerance: the count is round(fraction * pixels), i.e. within half a pixel."""
    size = shape[0] * shape[1]
    for case in synthetic_2d(3, shape=shape, foreground_fraction=fraction, seed=5):
        assert np.count_nonzero(case.label) == round(fraction * size)
        assert abs(case.meta["foreground_fraction"] - fraction) <= 0.5 / size


@pytest.mark.parametrize("fraction", [0.2, 0.01, 0.0001])
def test_foreground_fraction_is_exact_3d(fraction):
    for case in synthetic_3d(2, shape=(40, 40, 40), foreground_fraction=fraction, seed=6):
        assert np.count_nonzero(case.label) == max(round(fraction * 40**3), 1)


@pytest.mark.parametrize("num_classes", [3, 5])
def test_multi_class_all_present_and_balanced(num_classes):
    for case in synthetic_2d(3, foreground_fraction=0.04, num_classes=num_classes, seed=7):
        counts = np.bincount(case.label.ravel(), minlength=num_classes)
        assert len(counts) == num_classes and counts[1:].min() > 0
        assert counts[1:].max() - counts[1:].min() <= 1
        assert counts[1:].sum() == round(0.04 * 128 * 128)


def test_multi_class_shapes_and_polarity():
    """Class 1 is thin curves (erosion removes them), class 2 compact blobs; 3-4 are darker."""
    cases = synthetic_2d(8, shape=(192, 192), foreground_fraction=0.05, num_classes=5, seed=8)
    label = np.stack([c.label for c in cases])
    image = np.stack([c.image[0] for c in cases])
    square = np.ones((1, 3, 3), bool)
    survives = [
        np.count_nonzero(ndimage.binary_erosion(label == k, square)) / np.count_nonzero(label == k)
        for k in (1, 2)
    ]
    assert survives[0] < 0.15 < survives[1]
    background = image[label == 0].mean()
    assert image[label == 1].mean() > background and image[label == 2].mean() > background
    assert image[label == 3].mean() < background and image[label == 4].mean() < background


def test_tiny_fraction_keeps_one_pixel_per_class():
    case = synthetic_2d(1, shape=(16, 16), foreground_fraction=0.001, num_classes=4)[0]
    assert np.bincount(case.label.ravel()).tolist()[1:] == [1, 1, 1]


@pytest.mark.parametrize("fraction", [0.2, 0.01])
def test_intensities_overlap_2d(fraction):
    """Structures are brighter on average, yet no pixel threshold segments them well."""
    cases = synthetic_2d(6, foreground_fraction=fraction, seed=9)
    assert _best_threshold_dice(cases) < 0.9
    image = np.concatenate([c.image[0].ravel() for c in cases])
    truth = np.concatenate([c.label.ravel() > 0 for c in cases])
    foreground, background = image[truth], image[~truth]
    assert foreground.mean() > background.mean() + background.std()
    # overlap: a sizeable share of structure pixels is darker than the brightest 10 % of background
    assert np.mean(foreground < np.quantile(background, 0.9)) > 0.1


def test_intensities_overlap_3d():
    assert _best_threshold_dice(synthetic_3d(2, shape=(32, 32, 32), seed=9)) < 0.9


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"foreground_fraction": 0.0}, "foreground_fraction"),
        ({"foreground_fraction": 0.5}, "foreground_fraction"),
        ({"num_classes": 1}, "num_classes"),
        ({"num_classes": 6}, "num_classes"),
        ({"shape": (128,)}, "shape"),
        ({"shape": (4, 128)}, "shape"),
        ({"seed": -1}, "seed"),
        ({"n_cases": -2}, "n_cases"),
        ({"contrast": 0.0}, "contrast"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        synthetic_2d(**{"n_cases": 1, **kwargs})
