"""Slice, patch and whole-case datasets, through DataLoader workers."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from boundaryloss.data.augment import Compose, RandomCrop, RandomFlip, RandomIntensity, RandomRot90
from boundaryloss.data.cache import MapCache
from boundaryloss.data.case import Case
from boundaryloss.data.datasets import CaseDataset, PatchDataset, SliceDataset
from boundaryloss.data.patches import crop_patch
from boundaryloss.data.spatial import RandomSpatial
from boundaryloss.losses import DeepSupervisionTargets
from boundaryloss.losses.deep_supervision import SCALE_TARGETS
from boundaryloss.maps import DistanceMapTransform, MapSpec, rrw_map, signed_distance_map
from boundaryloss.nets import supervision_shapes

from .pipeline_cases import blob_case

SIGNED = DistanceMapTransform("signed", 3)
RRW = DistanceMapTransform("rrw", 3)


class CountingSource:
    """A case source that counts reads (a stand-in for a lazy reader)."""

    def __init__(self, cases):
        self.cases = list(cases)
        self.case_ids = [c.case_id for c in self.cases]
        self.reads = 0

    def __len__(self):
        return len(self.cases)

    def __getitem__(self, index):
        self.reads += 1
        return self.cases[index]


def volumes(n=3, shape=(10, 12, 12), spacing=(2.0, 0.5, 0.5)):
    return [blob_case(f"case_{i}", shape=shape, seed=i, spacing=spacing) for i in range(n)]


def test_slice_dataset_through_two_workers():
    transforms = Compose([RandomFlip(), RandomRot90(), RandomIntensity()])
    dataset = SliceDataset(volumes(), axis=0, transforms=transforms, maps=[SIGNED, RRW])
    assert len(dataset) == 3 * 10
    loader = DataLoader(dataset, batch_size=4, num_workers=2, shuffle=True)
    seen = set()
    for batch in loader:
        assert set(batch) == {
            "image",
            "label",
            "spacing",
            "case_id",
            "slice_index",
            "dist_map",
            "rw_map",
        }
        b = len(batch["case_id"])
        assert batch["image"].shape == (b, 2, 12, 12) and batch["image"].dtype == torch.float32
        assert batch["label"].shape == (b, 12, 12) and batch["label"].dtype == torch.int64
        assert batch["dist_map"].shape == batch["rw_map"].shape == (b, 3, 12, 12)
        assert batch["dist_map"].dtype == torch.float32
        assert batch["spacing"].shape == (b, 2) and batch["spacing"].dtype == torch.float64
        assert batch["slice_index"].dtype == torch.int64
        assert all(isinstance(c, str) for c in batch["case_id"])
        seen |= set(zip(batch["case_id"], batch["slice_index"].tolist(), strict=True))
        # Maps are computed after augmentation, from the augmented label.
        for i in range(b):
            label = batch["label"][i].numpy()
            np.testing.assert_array_equal(
                batch["dist_map"][i].numpy(), signed_distance_map(label, 3, (0.5, 0.5))
            )
            np.testing.assert_array_equal(batch["rw_map"][i].numpy(), rrw_map(label, 3, (0.5, 0.5)))
    assert seen == {(f"case_{c}", s) for c in range(3) for s in range(10)}


def test_maps_use_the_rotated_in_plane_spacing():
    torch.manual_seed(0)  # the augmentation seed is combined with torch's: fix both
    case = blob_case(shape=(6, 8, 8), spacing=(1.0, 2.0, 0.5))
    dataset = SliceDataset([case], axis=0, transforms=RandomRot90(p=1.0), maps=[SIGNED])
    spacings = set()
    for i in range(len(dataset)):
        sample = dataset[i]
        spacing = tuple(sample["spacing"].tolist())
        spacings.add(spacing)
        np.testing.assert_array_equal(
            sample["dist_map"].numpy(), signed_distance_map(sample["label"].numpy(), 3, spacing)
        )
    assert spacings == {(2.0, 0.5), (0.5, 2.0)}


def test_augmentation_differs_between_workers_and_repeats_under_manual_seed():
    dataset = SliceDataset(volumes(1), axis=0, transforms=RandomIntensity(), maps=[])

    def images():
        torch.manual_seed(123)
        loader = DataLoader(dataset, batch_size=5, num_workers=2)
        return torch.cat([b["image"] for b in loader])

    first, second = images(), images()
    assert torch.equal(first, second)
    # Workers 0 and 1 handle batches 0 and 1; their random scales must differ.
    plain = torch.stack([torch.from_numpy(dataset._store.loaded[0].image[:, i]) for i in range(10)])
    ratios = (first / plain)[:, 0].flatten(1).median(dim=1).values
    assert not torch.allclose(ratios[:5], ratios[5:])


def test_2d_cases_with_fov_and_skip_empty():
    cases = [blob_case(f"img_{i}", shape=(16, 16), seed=i, fov=True) for i in range(3)]
    cases.append(
        Case(
            "empty",
            np.zeros((1, 16, 16), np.float32),
            np.zeros((16, 16), np.int64),
            (1, 1),
            spacing_unit="mm",
        )
    )
    cases[-1] = cases[-1].with_arrays(
        image=np.zeros((2, 16, 16), np.float32), fov=np.ones((16, 16), bool)
    )
    dataset = SliceDataset(cases, transforms=RandomCrop((8, 8), 0.5), maps=[SIGNED])
    assert len(dataset) == 4
    assert len(SliceDataset(cases, skip_empty=True)) == 3
    sample = dataset[0]
    assert sample["slice_index"] == 0 and sample["case_id"] == "img_0"
    assert sample["fov"].dtype == torch.bool and sample["fov"].shape == (8, 8)
    assert sample["image"].shape == (2, 8, 8) and sample["dist_map"].shape == (3, 8, 8)
    batch = next(iter(DataLoader(dataset, batch_size=4, num_workers=2)))
    assert batch["case_id"] == ["img_0", "img_1", "img_2", "empty"]


def test_skip_empty_slices_of_volumes():
    case = blob_case(shape=(8, 9, 10))
    case.label[2] = 0
    case.label[5] = 0
    dataset = SliceDataset([case], axis=0, skip_empty=True)
    assert [dataset[i]["slice_index"] for i in range(len(dataset))] == [0, 1, 3, 4, 6, 7]


def test_lazy_source_is_read_per_sample_and_preprocessed():
    source = CountingSource(volumes(2))
    calls = []

    def preprocess(case):
        calls.append(case.case_id)
        return case.with_arrays(image=case.image * 0.0)

    dataset = SliceDataset(source, axis=0, preprocess=preprocess, in_memory=False)
    assert source.reads == 2
    sample = dataset[3]
    assert source.reads == 3 and calls[-1] == "case_0"
    assert float(sample["image"].abs().max()) == 0.0
    in_memory = SliceDataset(source, axis=0, preprocess=preprocess)
    reads = source.reads
    in_memory[3], in_memory[15]
    assert source.reads == reads


def test_patch_maps_are_crops_of_the_whole_volume_map(tmp_path):
    # One small structure in a large volume: most patches see only background.
    label = np.zeros((24, 24, 24), dtype=np.int64)
    label[3:7, 4:8, 5:9] = 1
    label[18:21, 17:20, 2:5] = 2
    case = Case("c", label[None].astype(np.float32), label, (1.0, 1.0, 2.0), spacing_unit="mm")
    whole = signed_distance_map(label, 3, case.spacing)
    for cache in (None, MapCache(tmp_path / "maps", mmap=True)):
        dataset = PatchDataset(
            [case],
            (8, 8, 8),
            maps=[SIGNED],
            patches_per_case=30,
            foreground_probability=0.0,
            cache=cache,
            in_memory=cache is None,
        )
        background_only = 0
        for i in range(len(dataset)):
            sample = dataset[i]
            start = tuple(sample["patch_start"].tolist())
            patch_label = crop_patch(label, start, (8, 8, 8))
            np.testing.assert_array_equal(sample["label"].numpy(), patch_label)
            np.testing.assert_array_equal(
                sample["dist_map"].numpy(), crop_patch(whole, start, (8, 8, 8))
            )
            own = signed_distance_map(patch_label, 3, case.spacing)
            if not patch_label.any():
                background_only += 1
                assert not own[1:].any()  # a patch's own map: no signal at all
                assert (sample["dist_map"][1:] > 0).all()  # the whole map: distance to it
        assert background_only > 0
    # With foreground, the patch's own map is still wrong where the structure is cut.
    start = (0, 0, 0)
    own = signed_distance_map(crop_patch(label, start, (6, 6, 6)), 3, case.spacing)
    assert not np.array_equal(own, crop_patch(whole, start, (6, 6, 6)))


def test_patch_dataset_through_two_workers_with_map_preserving_augmentation():
    cases = volumes(2, shape=(12, 12, 12), spacing=(2.0, 0.5, 1.0))
    transforms = Compose([RandomFlip(), RandomRot90(plane=(1, 2)), RandomIntensity()])
    # A patch the size of the volume: the sample is the augmented whole case, so its map
    # must equal the map recomputed on the augmented label (maps commute with them).
    dataset = PatchDataset(
        cases, (12, 12, 12), maps=[SIGNED, RRW], transforms=transforms, patches_per_case=4
    )
    loader = DataLoader(dataset, batch_size=4, num_workers=2)
    count = 0
    for batch in loader:
        assert set(batch) == {
            "image",
            "label",
            "spacing",
            "case_id",
            "patch_start",
            "dist_map",
            "rw_map",
        }
        assert batch["image"].shape == (4, 2, 12, 12, 12)
        assert batch["dist_map"].shape == (4, 3, 12, 12, 12)
        for i in range(4):
            label, spacing = batch["label"][i].numpy(), tuple(batch["spacing"][i].tolist())
            np.testing.assert_array_equal(
                batch["dist_map"][i].numpy(), signed_distance_map(label, 3, spacing)
            )
            np.testing.assert_array_equal(batch["rw_map"][i].numpy(), rrw_map(label, 3, spacing))
            count += 1
    assert count == 8
    small = PatchDataset(cases, (6, 6, 6), maps=[SIGNED], transforms=transforms)
    batch = next(iter(DataLoader(small, batch_size=2, num_workers=2)))
    assert batch["label"].shape == (2, 6, 6, 6) and batch["dist_map"].shape == (2, 3, 6, 6, 6)


def test_case_dataset_returns_whole_cases():
    affine = np.diag([2.0, 0.5, 0.5, 1.0])
    cases = [blob_case("a", shape=(6, 7, 8), affine=affine)]
    cases.append(
        Case("b", np.zeros((2, 6, 7, 8), np.float32), None, (1.0, 1.0, 1.0), spacing_unit="mm")
    )
    dataset = CaseDataset(cases, maps=[SIGNED])
    a, b = dataset[0], dataset[1]
    assert set(a) == {"image", "label", "spacing", "affine", "case_id", "dist_map"}
    assert a["affine"].dtype == torch.float64 and torch.equal(a["affine"], torch.from_numpy(affine))
    assert a["image"].shape == (2, 6, 7, 8) and a["label"].dtype == torch.int64
    assert set(b) == {"image", "spacing", "case_id"}
    batch = next(iter(DataLoader(dataset, batch_size=1, num_workers=2)))
    assert batch["case_id"] == ["a"] and batch["affine"].shape == (1, 4, 4)


def test_bad_dataset_arguments():
    cases = volumes(1)
    with pytest.raises(ValueError, match="axis"):
        SliceDataset(cases, axis=3)
    with pytest.raises(ValueError, match="patch_size"):
        PatchDataset(cases, (11, 4, 4))
    with pytest.raises(ValueError, match="patch_size"):
        PatchDataset(cases, (4, 4))
    with pytest.raises(ValueError, match="expected patch_size"):  # a crop changes the shape
        PatchDataset(cases, (4, 4, 4), transforms=Compose([RandomFlip(), RandomCrop((2, 2, 2))]))[0]
    with pytest.raises(ValueError, match="margin needs transforms that resample"):
        PatchDataset(cases, (4, 4, 4), transforms=Compose([RandomFlip()]), margin=2)
    with pytest.raises(ValueError, match="not square in the rotation plane"):
        PatchDataset(cases, (4, 6, 6), transforms=Compose([RandomRot90(plane=(0, 1))]))
    PatchDataset(cases, (4, 6, 6), transforms=Compose([RandomRot90(plane=(1, 2))]))
    with pytest.raises(ValueError, match="patches_per_case"):
        PatchDataset(cases, (4, 4, 4), patches_per_case=0)
    with pytest.raises(ValueError, match="foreground_probability"):
        PatchDataset(cases, (4, 4, 4), foreground_probability=2.0)
    with pytest.raises(ValueError, match="DistanceMapTransform"):
        PatchDataset(cases, (4, 4, 4), maps=[lambda s: s], cache=MapCache("/nonexistent"))
    unlabelled = Case(
        "u", np.zeros((1, 4, 4, 4), np.float32), None, (1.0, 1.0, 1.0), spacing_unit="mm"
    )
    with pytest.raises(ValueError, match="label"):
        SliceDataset([unlabelled])


@pytest.mark.parametrize("dataset_kind", ["slices", "patches_resampled", "patches_cropped"])
def test_deep_supervision_targets_are_computed_per_sample_and_batch(dataset_kind):
    spec = MapSpec("signed", include_background=False)
    targets = DeepSupervisionTargets(
        [spec], 3, functools.partial(supervision_shapes, depth=3), [0.5, 0.5, 0.0]
    )
    maps = [DistanceMapTransform.from_spec(spec, 3)]
    cases = volumes(shape=(11, 13, 9), spacing=(2.0, 0.5, 0.7))
    if dataset_kind == "slices":
        dataset = SliceDataset(
            cases, axis=0, transforms=RandomFlip(), maps=maps, scale_targets=targets
        )
        full, spacing = (13, 9), (0.5, 0.7)
    else:
        resample = dataset_kind == "patches_resampled"
        dataset = PatchDataset(
            cases,
            (7, 9, 5),
            maps=maps,
            transforms=RandomSpatial(rotation=20.0, output_shape=(7, 9, 5)) if resample else None,
            margin=2 if resample else 0,
            scale_targets=targets,
        )
        full, spacing = (7, 9, 5), (2.0, 0.5, 0.7)
    sample = dataset[0]
    half, coarsest = sample[SCALE_TARGETS]
    assert coarsest == {}  # weight 0: nothing computed
    shape = tuple(-(-n // 2) for n in full)
    assert half["label"].shape == shape and half["dist_map"].shape == (3, *shape)
    # computed from the sample's own (augmented) label, as the loss would
    expected = targets({"label": sample["label"].numpy(), "spacing": spacing})[SCALE_TARGETS]
    assert torch.equal(half["label"], expected[0]["label"])
    assert torch.equal(half["dist_map"], expected[0]["dist_map"])
    loader = DataLoader(dataset, batch_size=3, num_workers=1)
    batch = next(iter(loader))
    half, coarsest = batch[SCALE_TARGETS]
    assert coarsest == {}
    assert half["label"].shape == (3, *shape) and half["dist_map"].shape == (3, 3, *shape)
