"""Intensity normalisation and resampling of cases."""

from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.data.case import Case
from boundaryloss.data.preprocess import (
    Preprocess,
    clip_percentiles,
    normalize_case,
    normalize_image,
    resize_case,
    resized_affine,
)
from boundaryloss.maps import signed_distance_map

from .pipeline_cases import blob_case


def test_minmax_by_hand():
    image = np.array([[0.0, 2.0, 4.0, 10.0]])
    np.testing.assert_allclose(normalize_image(image, "minmax"), [[0.0, 0.2, 0.4, 1.0]])


def test_zscore_by_hand():
    out = normalize_image(np.array([[1.0, 2.0, 3.0, 4.0]]), "zscore")
    std = np.sqrt(1.25)  # population std of 1..4
    np.testing.assert_allclose(out, [[-1.5 / std, -0.5 / std, 0.5 / std, 1.5 / std]], rtol=1e-6)
    assert out.dtype == np.float32


def test_statistics_inside_mask_apply_everywhere():
    image = np.array([[1.0, 3.0, 100.0, 200.0]])
    mask = np.array([True, True, False, False])
    np.testing.assert_allclose(normalize_image(image, "zscore", mask), [[-1.0, 1.0, 98.0, 198.0]])
    np.testing.assert_allclose(normalize_image(image, "minmax", mask), [[0.0, 1.0, 49.5, 99.5]])


def test_channels_are_normalised_independently_and_constant_gives_zeros():
    image = np.stack([np.array([[0.0, 5.0], [10.0, 5.0]]), np.full((2, 2), 7.0)])
    out = normalize_image(image, "minmax")
    np.testing.assert_allclose(out[0], [[0.0, 0.5], [1.0, 0.5]])
    np.testing.assert_array_equal(out[1], 0.0)
    np.testing.assert_array_equal(normalize_image(image, "zscore")[1], 0.0)


def test_percentile_clipping_by_hand():
    image = np.arange(101, dtype=np.float32)[None]
    clipped = clip_percentiles(image, 1.0, 99.0)
    assert clipped.min() == 1.0 and clipped.max() == 99.0
    out = normalize_image(image, "minmax", clip=(1.0, 99.0))
    assert out[0, 0] == 0.0 and out[0, -1] == 1.0
    np.testing.assert_allclose(out[0, 50], 49 / 98, rtol=1e-6)


def test_normalize_case_masks():
    case = blob_case(fov=True)
    out = normalize_case(case, "zscore", mask="fov")
    assert out.image.shape == case.image.shape and out.label is case.label
    np.testing.assert_allclose(out.image.mean(axis=(1, 2, 3)), 0.0, atol=1e-5)
    image = np.zeros((1, 4, 4), dtype=np.float32)
    image[0, 1:3, 1:3] = [[1.0, 3.0], [1.0, 3.0]]
    nonzero = normalize_case(
        Case("x", image, None, (1.0, 1.0), spacing_unit="mm"), "zscore", mask="nonzero"
    )
    np.testing.assert_allclose(nonzero.image[0, 1:3, 1:3], [[-1.0, 1.0], [-1.0, 1.0]])
    with pytest.raises(ValueError, match="fov"):
        normalize_case(blob_case(), "zscore", mask="fov")


def test_bad_normalisation_arguments():
    image = np.ones((1, 3, 3))
    with pytest.raises(ValueError, match="method"):
        normalize_image(image, "histogram")
    with pytest.raises(ValueError, match="normalization"):
        Preprocess(normalization="histogram")
    with pytest.raises(ValueError, match="mask"):
        Preprocess(mask="brain")
    with pytest.raises(ValueError, match="clip"):
        Preprocess(clip=(99.5, 0.5))
    with pytest.raises(ValueError, match="percentiles"):
        clip_percentiles(image, 5.0, 101.0)
    with pytest.raises(ValueError, match="mask"):
        normalize_image(image, "zscore", np.zeros((3, 3), dtype=bool))
    with pytest.raises(ValueError, match="mask shape"):
        normalize_image(image, "zscore", np.ones((2, 3), dtype=bool))


def test_resize_updates_shape_spacing_and_keeps_labels_and_fov_discrete():
    case = blob_case(shape=(20, 30, 12), spacing=(1.0, 0.5, 2.0), fov=True)
    out = resize_case(case, (10, 45, 24))
    assert out.spatial_shape == (10, 45, 24) and out.image.dtype == np.float32
    np.testing.assert_allclose(out.spacing, (2.0, 1.0 / 3.0, 1.0))
    assert out.label.dtype == case.label.dtype
    assert set(np.unique(out.label)) <= set(np.unique(case.label))
    assert out.fov.dtype == bool and out.fov.all()
    assert out.meta["original_shape"] == (20, 30, 12)
    assert out.meta["original_spacing"] == (1.0, 0.5, 2.0)
    # The image (label * (c + 1) + noise) stays aligned with the nearest-neighbour label.
    assert np.corrcoef(out.image[0].ravel(), out.label.ravel())[0, 1] > 0.8


def test_resized_affine_keeps_the_physical_extent():
    affine = np.array(
        [[0.0, 0.0, -2.0, 10.0], [1.5, 0.0, 0.0, -3.0], [0.0, 0.8, 0.0, 7.0], [0, 0, 0, 1]]
    )
    old, new = (20, 30, 12), (10, 45, 24)
    out = resize_case(blob_case(shape=old, affine=affine, spacing=(1.5, 0.8, 2.0)), new)
    np.testing.assert_allclose(out.affine, resized_affine(affine, old, new))
    for corner_old, corner_new in [(-0.5, -0.5), (np.array(old) - 0.5, np.array(new) - 0.5)]:
        world_old = affine @ np.append(np.broadcast_to(corner_old, 3), 1.0)
        world_new = out.affine @ np.append(np.broadcast_to(corner_new, 3), 1.0)
        np.testing.assert_allclose(world_new, world_old, atol=1e-9)
    # Voxel sizes read off the new affine are the new spacing.
    np.testing.assert_allclose(np.linalg.norm(out.affine[:3, :3], axis=0), out.spacing)


def test_map_of_resized_label_keeps_physical_distances():
    # A disk of radius 30 (original pixels); after resampling to 64 x 96 the signed map,
    # computed with the updated spacing, still gives |r - 30| in original pixel units.
    n = 128
    centre = (n - 1) / 2
    rows, cols = np.mgrid[:n, :n]
    label = ((rows - centre) ** 2 + (cols - centre) ** 2 <= 30**2).astype(np.int64)
    case = Case("disk", label[None].astype(np.float32), label, (1.0, 1.0), spacing_unit="mm")
    small = resize_case(case, (64, 96))
    dist = signed_distance_map(small.label, 2, small.spacing)[1]
    # Physical centre positions of the new pixels, in original pixel units.
    r_new = (np.arange(64) + 0.5) * small.spacing[0] - 0.5
    c_new = (np.arange(96) + 0.5) * small.spacing[1] - 0.5
    radius = np.hypot(r_new[:, None] - centre, c_new[None, :] - centre)
    expected = radius - 30.0
    error = np.abs(dist - expected)
    assert np.median(error) < 0.75
    assert error.max() < 2.0 * max(small.spacing)
    # Without the spacing update the distances would be off by the zoom factor.
    unit = signed_distance_map(small.label, 2)[1]
    assert np.median(np.abs(unit - expected)) > 2.0


def test_resize_bad_arguments():
    case = blob_case()
    with pytest.raises(ValueError, match="shape"):
        resize_case(case, (10, 10))
    with pytest.raises(ValueError, match="shape"):
        resize_case(case, (10, 0, 10))
    with pytest.raises(ValueError, match="image_order"):
        resize_case(case, (10, 10, 10), image_order=7)


def test_preprocess_resizes_then_normalises():
    case = blob_case(shape=(20, 30, 12))
    out = Preprocess(shape=(10, 15, 6), normalization="minmax")(case)
    assert out.spatial_shape == (10, 15, 6)
    np.testing.assert_allclose(out.image.min(axis=(1, 2, 3)), 0.0)
    np.testing.assert_allclose(out.image.max(axis=(1, 2, 3)), 1.0)


def test_channel_selection_keeps_the_channels_asked_in_order():
    rng = np.random.default_rng(0)
    image = rng.random((3, 6, 5)).astype(np.float32)
    case = Case(
        "rgb",
        image,
        np.zeros((6, 5), np.int64),
        (1.0, 1.0),
        fov=np.ones((6, 5), bool),
        spacing_unit="px",
    )
    green = Preprocess(normalization="none", channels=(1,))(case)
    np.testing.assert_array_equal(green.image, image[1:2])
    assert green.fov is case.fov  # a reader's field of view is kept as it is
    swapped = Preprocess(normalization="none", channels=(2, 0))(case)
    np.testing.assert_array_equal(swapped.image, image[[2, 0]])
    zscored = Preprocess(normalization="zscore", channels=(1,))(case)
    np.testing.assert_allclose(
        zscored.image[0], (image[1] - image[1].mean()) / image[1].std(), atol=1e-5
    )
    with pytest.raises(
        ValueError, match=r"data.channels \[3\] asks for channel 3, but the image has 3"
    ):
        Preprocess(channels=(3,))(case)


@pytest.mark.parametrize(
    ("channels", "message"),
    [((), "expected 0-based channel indices"), ((-1,), "expected 0-based"), ((1, 1), "twice")],
)
def test_bad_channel_selection(channels, message):
    with pytest.raises(ValueError, match=f"channels: .*{message}"):
        Preprocess(channels=channels)


def test_channel_selection_refuses_images_of_another_channel_count():
    """Trained on RGB images (source_channels 3), a 4-channel image is refused even
    though it has channel 1: its channel 1 need not be green."""
    rng = np.random.default_rng(1)
    four = Case(
        "rgba", rng.random((4, 6, 5)).astype(np.float32), None, (1.0, 1.0), spacing_unit="px"
    )
    with pytest.raises(
        ValueError, match=r"rgba.*the image has 4 channel\(s\), the training images 3"
    ):
        Preprocess(channels=(1,), source_channels=3)(four)
    assert Preprocess(channels=(1,))(four).image.shape == (1, 6, 5)  # unchecked without it
