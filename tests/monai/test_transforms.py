"""MONAI map transforms against scipy references, after MONAI's random spatial transforms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

monai = pytest.importorskip("monai")

from monai.data import MetaTensor  # noqa: E402
from monai.data.meta_obj import set_track_meta  # noqa: E402
from monai.data.utils import affine_to_spacing  # noqa: E402
from monai.transforms import (  # noqa: E402
    AsDiscreted,
    Compose,
    Rand3DElasticd,
    RandAffined,
    RandCropByPosNegLabeld,
    RandFlipd,
)

from boundaryloss.monai import DistanceMap, DistanceMapd  # noqa: E402

from ..maps.reference import REFERENCES, per_class, rrw  # noqa: E402

PIXDIM = (0.5, 0.5, 2.0)


def _label(shape=(20, 18, 10), seed=0) -> np.ndarray:
    """Two nested ellipsoids (classes 1 and 2) plus scattered class-2 voxels."""
    rng = np.random.default_rng(seed)
    grid = np.indices(shape)
    radius = sum(((g - s / 2) / (s / 3)) ** 2 for g, s in zip(grid, shape, strict=True))
    label = np.zeros(shape, dtype=np.int64)
    label[radius < 1] = 1
    label[radius < 0.3] = 2
    label[rng.random(shape) < 0.005] = 2
    return label


def _meta_label(label: np.ndarray, pixdim=PIXDIM) -> MetaTensor:
    affine = torch.diag(torch.tensor([*pixdim, 1.0], dtype=torch.float64))
    return MetaTensor(torch.from_numpy(label)[None].float(), affine=affine)


def _reference(kind: str, convention: str, label: np.ndarray, spacing) -> np.ndarray:
    if kind == "signed":
        return per_class(REFERENCES[convention], label, 3, spacing)
    if kind == "unsigned":
        return np.abs(per_class(REFERENCES[convention], label, 3, spacing))
    if kind == "rrw":
        return np.stack([rrw(label == k, spacing) for k in range(3)])
    return np.stack([(label != k).astype(float) for k in range(3)])


CASES = [("signed", c) for c in ("paper", "official", "rw")] + [
    ("unsigned", "rw"),
    ("unsigned", "paper"),
    ("rrw", "paper"),
    ("ac", "paper"),
]


@pytest.mark.parametrize(("kind", "convention"), CASES)
def test_maps_use_the_pixdim_of_the_label(kind, convention):
    label = _label()
    out = DistanceMapd("label", 3, kind=kind, convention=convention)({"label": _meta_label(label)})
    key = "rw_map" if kind in ("rrw", "ac") else "dist_map"
    expected = _reference(kind, convention, label, PIXDIM)
    np.testing.assert_allclose(out[key].numpy(), expected, rtol=1e-5, atol=1e-5)


def test_output_is_a_metatensor_with_the_labels_metadata():
    label = _meta_label(_label())
    label.meta["filename_or_obj"] = "case_001.nii.gz"
    out = DistanceMapd("label", 3)({"label": label, "image": torch.zeros(1, 20, 18, 10)})
    dist_map = out["dist_map"]
    assert isinstance(dist_map, MetaTensor)
    assert dist_map.dtype == torch.float32 and dist_map.shape == (3, 20, 18, 10)
    assert torch.equal(dist_map.affine, label.affine)
    assert dist_map.meta["filename_or_obj"] == "case_001.nii.gz"
    dist_map.meta["filename_or_obj"] = "changed"  # a copy, not the label's own dict
    assert label.meta["filename_or_obj"] == "case_001.nii.gz"
    assert out["label"] is label  # the label is passed through untouched


def test_one_hot_label_as_asdiscreted_produces_it_gives_the_same_map():
    sample = {"label": _meta_label(_label())}
    one_hot = AsDiscreted("label", to_onehot=3)(dict(sample))
    assert one_hot["label"].shape[0] == 3
    for kind in ("signed", "rrw"):
        from_labels = DistanceMapd("label", 3, kind=kind, map_keys="m")(sample)["m"]
        from_one_hot = DistanceMapd("label", 3, kind=kind, map_keys="m")(one_hot)["m"]
        torch.testing.assert_close(from_one_hot, from_labels)


def test_allow_missing_keys():
    transform = DistanceMapd(["label", "label2"], 3, map_keys=["m1", "m2"], allow_missing_keys=True)
    out = transform({"label": _meta_label(_label())})
    assert "m1" in out and "m2" not in out
    strict = DistanceMapd(["label", "label2"], 3, map_keys=["m1", "m2"])
    with pytest.raises(KeyError):
        strict({"label": _meta_label(_label())})


def test_bad_arguments():
    with pytest.raises(ValueError, match="map_keys is required"):
        DistanceMapd(["a", "b"], 3)
    with pytest.raises(ValueError, match="one output per key"):
        DistanceMapd(["a", "b"], 3, map_keys="m")
    with pytest.raises(ValueError, match="kind"):
        DistanceMapd("label", 3, kind="bogus")
    with pytest.raises(ValueError, match=r"got shape \(2, 20, 18, 10\)"):
        DistanceMap(3)(torch.zeros(2, 20, 18, 10))


def test_explicit_spacing_overrides_the_metadata_and_track_meta_off_gives_a_tensor():
    label = _label()
    out = DistanceMap(3, spacing=(1.0, 1.0, 1.0))(_meta_label(label))
    np.testing.assert_allclose(out.numpy(), _reference("signed", "paper", label, None), atol=1e-5)
    set_track_meta(False)
    try:
        plain = DistanceMap(3)(torch.from_numpy(label)[None])
    finally:
        set_track_meta(True)
    assert type(plain) is torch.Tensor


def _augmentation(map_transform) -> Compose:
    keys = ["image", "label"]
    return Compose(
        [
            RandCropByPosNegLabeld(
                keys, "label", spatial_size=(14, 14, 8), pos=1, neg=1, num_samples=2
            ),
            RandAffined(
                keys,
                prob=1.0,
                rotate_range=(0.3, 0.2, 0.1),
                scale_range=(0.15, 0.15, 0.1),
                mode=("bilinear", "nearest"),
                padding_mode="zeros",
            ),
            Rand3DElasticd(
                keys,
                sigma_range=(3, 4),
                magnitude_range=(1, 2),
                prob=1.0,
                mode=("bilinear", "nearest"),
            ),
            RandFlipd(keys, prob=1.0, spatial_axis=0),
            map_transform,
        ]
    ).set_random_state(7)


@pytest.mark.parametrize(("kind", "convention"), [("signed", "paper"), ("rrw", "paper")])
def test_maps_after_random_spatial_transforms_are_those_of_the_augmented_label(kind, convention):
    label = _label()
    sample = {"image": _meta_label(label.astype(np.float32)), "label": _meta_label(label)}
    outputs = _augmentation(DistanceMapd("label", 3, kind=kind, map_keys="map"))(sample)
    assert len(outputs) == 2
    original_map = _reference(kind, convention, label, PIXDIM)
    for out in outputs:
        augmented = np.rint(out["label"][0].numpy()).astype(np.int64)
        assert augmented.shape == (14, 14, 8)
        spacing = tuple(float(s) for s in affine_to_spacing(out["label"].affine, r=3))
        expected = _reference(kind, convention, augmented, spacing)
        np.testing.assert_allclose(out["map"].numpy(), expected, rtol=1e-5, atol=1e-5)
        assert original_map.shape != out["map"].shape  # a map made before the crop is stale


def test_compose_inverse_drops_the_map_and_restores_the_label():
    label = _meta_label(_label())
    pipeline = Compose([RandFlipd("label", prob=1.0, spatial_axis=1), DistanceMapd("label", 3)])
    out = pipeline({"label": label})
    assert not torch.equal(out["label"], label)
    restored = pipeline.inverse(out)
    assert "dist_map" not in restored
    torch.testing.assert_close(restored["label"].as_tensor(), label.as_tensor())


def test_invertd_carries_the_map_back_through_the_labels_history():
    from monai.transforms import Invertd

    label = _meta_label(_label())
    pipeline = Compose(
        [RandFlipd("label", prob=1.0, spatial_axis=0), DistanceMapd("label", 3, map_keys="map")]
    )
    out = pipeline({"label": label})
    back = Invertd(keys="map", transform=pipeline, orig_keys="label", nearest_interp=False)(out)
    # A flip is exact, so the flipped-back map is the map of the original label.
    expected = _reference("signed", "paper", _label(), PIXDIM)
    np.testing.assert_allclose(back["map"].numpy(), expected, rtol=1e-5, atol=1e-5)
    assert back["map"].applied_operations == []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_maps_of_a_label_on_the_gpu_stay_there_and_equal_the_cpu_maps():
    import warnings

    from boundaryloss.maps import CPUFallbackWarning

    label = _meta_label(_label())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CPUFallbackWarning)
        on_gpu = DistanceMapd("label", 3)({"label": label.cuda()})["dist_map"]
    on_cpu = DistanceMapd("label", 3)({"label": label})["dist_map"]
    assert isinstance(on_gpu, MetaTensor) and on_gpu.device.type == "cuda"
    torch.testing.assert_close(on_gpu.cpu().as_tensor(), on_cpu.as_tensor(), rtol=1e-5, atol=1e-4)


def test_lazy_resampling_is_applied_before_the_map():
    from monai.transforms import RandSpatialCropd

    label = _meta_label(_label())
    steps = [
        RandSpatialCropd("label", (14, 14, 8), random_size=False),
        RandAffined("label", prob=1.0, rotate_range=(0.3, 0, 0), scale_range=0.2, mode="nearest"),
        RandFlipd("label", prob=1.0, spatial_axis=0),
        DistanceMapd("label", 3),
    ]
    nearest = {"label": {"mode": "nearest", "padding_mode": "zeros"}}
    out = Compose(steps, lazy=True, overrides=nearest).set_random_state(1)({"label": label})
    assert out["label"].pending_operations == []
    augmented = out["label"][0].numpy().astype(np.int64)
    spacing = tuple(float(s) for s in affine_to_spacing(out["label"].affine, r=3))
    expected = _reference("signed", "paper", augmented, spacing)
    np.testing.assert_allclose(out["dist_map"].numpy(), expected, rtol=1e-5, atol=1e-5)
    # Without the override MONAI resamples the label bilinearly: refused, not mapped.
    with pytest.raises(RuntimeError) as error:
        Compose(steps, lazy=True).set_random_state(1)({"label": label})
    assert "non-integral" in str(error.value.__cause__)
