"""PyTorch datasets: 2D slices and 3D patches for training, whole cases for evaluation.

Convention:
    Every dataset reads from a *case source* (any sequence of :class:`Case`) and
    returns dicts that PyTorch's default collate batches: ``"image"`` float32
    ``(C_in, *spatial)``, ``"label"`` int64 ``(*spatial)``, ``"fov"`` bool
    ``(*spatial)`` when the case has one, maps float32 ``(C, *spatial)`` under the
    map transforms' keys (``"dist_map"``, ``"rw_map"``), ``"spacing"`` float64
    ``(ndim,)`` (the sample's own pixel size, in-plane for slices), ``"case_id"``
    (a str; collated into a list) and, for deep supervision, what the training
    datasets' ``scale_targets`` transform adds (the lower-resolution targets and maps,
    :class:`~boundaryloss.losses.deep_supervision.DeepSupervisionTargets`). Everything
    heavy runs in ``__getitem__``, so in DataLoader workers.

    Random augmentation draws from a NumPy generator created once per process and
    seeded from ``(seed, torch.initial_seed())``: each DataLoader worker (and each
    epoch, for non-persistent workers) gets its own stream, and a run is
    reproducible under ``torch.manual_seed``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from .augment import RandomRot90, Sample, Transform
from .cache import MapCache
from .case import Case
from .patches import (
    check_patch_size,
    crop_padded,
    crop_patch,
    foreground_locations,
    random_patch_start,
)
from .slicing import check_axis, slice_case

MapTransform = Callable[[Mapping[str, Any]], Mapping[str, Any]]
CasePreprocess = Callable[[Case], Case]

_DTYPES = {"image": np.float32, "label": np.int64, "fov": np.bool_, "affine": np.float64}


def to_tensors(sample: Sample) -> dict[str, Any]:
    """Convert a NumPy sample dict to tensors that default collate batches.

    Arrays become tensors (copied, C-contiguous: never views of a dataset's cached
    arrays): ``image`` float32, ``label`` int64, ``fov`` bool, ``affine`` float64,
    other float arrays float32; ``spacing`` becomes a float64 tensor; strings and ints
    stay as they are.
    """
    out: dict[str, Any] = {}
    for key, value in sample.items():
        if value is None:
            continue
        if key == "spacing":
            out[key] = torch.tensor(tuple(float(s) for s in value), dtype=torch.float64)
        elif isinstance(value, torch.Tensor):
            out[key] = value
        elif isinstance(value, np.ndarray):
            dtype = _DTYPES.get(key)
            if dtype is None:
                dtype = np.float32 if np.issubdtype(value.dtype, np.floating) else value.dtype
            out[key] = torch.from_numpy(np.array(value, dtype=dtype, order="C"))
        else:
            out[key] = value
    return out


class _CaseStore:
    """Cases of a source, preprocessed, held in memory or re-read on each access."""

    def __init__(
        self,
        cases: Sequence[Case],
        preprocess: CasePreprocess | None,
        in_memory: bool,
        require_label: bool,
    ) -> None:
        self.source = cases
        self.preprocess = preprocess
        self.in_memory = in_memory
        self.require_label = require_label
        self.loaded: list[Case] | None = [] if in_memory else None

    def load(self, index: int) -> Case:
        if self.loaded is not None and index < len(self.loaded):
            return self.loaded[index]
        case = self.source[index]
        if self.preprocess is not None:
            case = self.preprocess(case)
        if self.require_label and case.label is None:
            raise ValueError(f"case {case.case_id} has no label; training datasets need labels")
        return case

    def scan(self) -> list[Case]:
        """Load every case once (kept if ``in_memory``); returns them for indexing."""
        cases = [self.load(i) for i in range(len(self.source))]
        if self.loaded is not None:
            self.loaded = cases
        return cases


class _SeededDataset(Dataset):
    """Holds the per-process augmentation generator (see the module docstring)."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._generator: np.random.Generator | None = None
        self._generator_key: tuple[int, int] | None = None

    def rng(self) -> np.random.Generator:
        key = (os.getpid(), torch.initial_seed())
        if self._generator is None or key != self._generator_key:
            self._generator = np.random.default_rng([self.seed, key[1]])
            self._generator_key = key
        return self._generator


def _apply_maps(sample: Sample, maps: Sequence[MapTransform]) -> Sample:
    for transform in maps:
        sample = dict(transform(sample))
    return sample


def _finish(sample: Sample, scale_targets: MapTransform | None) -> dict[str, Any]:
    """The sample's deep-supervision targets (on its final label), then tensors."""
    if scale_targets is not None:
        sample = dict(scale_targets(sample))
    return to_tensors(sample)


class SliceDataset(_SeededDataset):
    """2D training samples: 2D cases, or every slice of 3D cases along one axis.

    Each sample is ``{"image" (C_in, H, W), "label" (H, W), "spacing" (2,),
    "case_id", "slice_index", ["fov"], [maps], ["scale_targets"]}``. ``slice_index`` is
    0 for 2D cases. Per sample, in order: slice, ``transforms`` (augmentation on NumPy
    arrays), ``maps`` (so maps match the augmented label and use the slice's in-plane,
    possibly rotated, spacing), ``scale_targets``, conversion to tensors.

    Args:
        cases: case source (2D and/or 3D cases with labels).
        axis: spatial axis of 3D cases to slice along (default the last, the ``k``
            axis of NIfTI volumes).
        transforms: augmentation ``(sample, rng) -> sample`` (e.g. :class:`Compose`),
            or None.
        maps: map transforms ``sample -> sample`` applied after augmentation, e.g.
            ``[DistanceMapTransform("signed", num_classes)]``.
        scale_targets: for deep supervision, a ``sample -> sample`` transform adding the
            lower-resolution targets and their maps
            (:class:`~boundaryloss.losses.deep_supervision.DeepSupervisionTargets`), run
            last; None: the loss computes them.
        skip_empty: leave out slices whose label is all background.
        preprocess: ``case -> case`` run when a case is loaded (e.g.
            :class:`~boundaryloss.data.preprocess.Preprocess`).
        in_memory: keep the preprocessed cases in memory (read once, shared with
            forked workers); else re-read and re-preprocess the case for every sample.
        seed: augmentation seed, combined with ``torch.initial_seed()``.

    Raises:
        ValueError: bad ``axis``; a case without a label.
    """

    def __init__(
        self,
        cases: Sequence[Case],
        axis: int = -1,
        transforms: Transform | None = None,
        maps: Sequence[MapTransform] = (),
        skip_empty: bool = False,
        preprocess: CasePreprocess | None = None,
        in_memory: bool = True,
        seed: int = 0,
        scale_targets: MapTransform | None = None,
    ) -> None:
        super().__init__(seed)
        self.axis = check_axis(axis)
        self.transforms = transforms
        self.maps = list(maps)
        self.scale_targets = scale_targets
        self.skip_empty = skip_empty
        self._store = _CaseStore(cases, preprocess, in_memory, require_label=True)
        self.entries: list[tuple[int, int]] = []
        for i, case in enumerate(self._store.scan()):
            if case.ndim == 2:
                if not skip_empty or case.label.any():
                    self.entries.append((i, 0))
                continue
            if skip_empty:
                other = tuple(a for a in range(3) if a != self.axis)
                keep = np.flatnonzero(case.label.any(axis=other))
            else:
                keep = range(case.spatial_shape[self.axis])
            self.entries.extend((i, int(s)) for s in keep)

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> dict[str, Any]:
        case_index, slice_index = self.entries[index]
        case = self._store.load(case_index)
        if case.ndim == 3:
            case = slice_case(case, self.axis, slice_index)
        sample: Sample = {
            "image": case.image,
            "label": case.label,
            "spacing": case.spacing,
            "case_id": case.case_id,
            "slice_index": slice_index,
        }
        if case.fov is not None:
            sample["fov"] = case.fov
        if self.transforms is not None:
            sample = self.transforms(sample, self.rng())
        return _finish(_apply_maps(sample, self.maps), self.scale_targets)


def _check_rotation_planes(transforms: Transform | None, patch_size: tuple[int, ...]) -> None:
    """Refuse 90-degree rotations in a non-square plane of the patch.

    Rotated and unrotated patches would then differ in shape and fail to collate.
    """
    for transform in getattr(transforms, "transforms", [transforms]):
        if isinstance(transform, RandomRot90):
            a, b = transform.plane
            if max(a, b) < len(patch_size) and patch_size[a] != patch_size[b]:
                raise ValueError(
                    f"patch_size {patch_size} is not square in the rotation plane "
                    f"{transform.plane}; rotated patches would not batch together"
                )


class PatchDataset(_SeededDataset):
    """Random patches of whole cases (3D or 2D), with maps cropped from whole-volume maps.

    A patch's own distance map is wrong near the patch border (it measures distance
    to the patch edge's nearest boundary, not the volume's) and is all zeros on
    background-only patches, which gives them no boundary-loss signal. So maps are
    computed once per case on the whole label and cropped with the patch when the
    transforms commute with maps (``preserves_maps``: flips, 90-degree rotations,
    intensity changes; applied to the image, label and cropped maps together).
    Transforms that do not (:class:`~boundaryloss.data.spatial.RandomSpatial`) get the
    patch with ``margin`` voxels of context on each side (padded with background beyond
    the volume), must return a ``patch_size`` sample, and the maps are then computed
    per sample after them, on the patch (as :class:`SliceDataset` does).

    Each sample is ``{"image", "label", "spacing", "case_id", "patch_start" (ndim,),
    ["fov"], [maps], ["scale_targets"]}``; ``len`` is ``len(cases) * patches_per_case``,
    sample ``i`` drawn from case ``i // patches_per_case``. The deep-supervision targets
    (``scale_targets``) are always computed last, per sample, from the final patch label
    (as the loss would from the batch).

    Args:
        cases: case source with labels.
        patch_size: patch size per spatial axis, at most every case's shape.
        maps: map transforms computing whole-volume maps from ``{"label", "spacing"}``
            (e.g. :class:`~boundaryloss.maps.DistanceMapTransform`); with ``cache``
            they must be ``DistanceMapTransform`` (their settings make the key).
        transforms: augmentation, or None.
        foreground_probability: chance a patch is centred on a foreground voxel
            (nnU-Net: 1/3), else uniform.
        patches_per_case: samples per case per epoch.
        cache: a :class:`~boundaryloss.data.cache.MapCache` for whole-volume maps, or
            None to compute them (once at construction with ``in_memory``, else for
            every sample).
        preprocess: ``case -> case`` run when a case is loaded.
        in_memory: keep cases, whole maps and foreground locations in memory
            (computed once, shared with forked workers); else load per sample (then
            use a ``cache``, ideally with ``mmap=True``).
        seed: augmentation seed, combined with ``torch.initial_seed()``.
        margin: context voxels per side (int or one per axis) for transforms that do
            not preserve maps; must be 0 otherwise.
        scale_targets: for deep supervision, a ``sample -> sample`` transform adding the
            lower-resolution targets and their maps, run last on the patch; None: the
            loss computes them.

    Raises:
        ValueError: ``patch_size`` larger than a case or malformed; a ``margin`` or
            ``cache`` with transforms that it does not apply to; ``patches_per_case``
            < 1; a case without a label; (when called) transforms that do not return a
            ``patch_size`` sample.
    """

    def __init__(
        self,
        cases: Sequence[Case],
        patch_size: Sequence[int],
        maps: Sequence[MapTransform] = (),
        transforms: Transform | None = None,
        foreground_probability: float = 1.0 / 3.0,
        patches_per_case: int = 1,
        cache: MapCache | None = None,
        preprocess: CasePreprocess | None = None,
        in_memory: bool = True,
        seed: int = 0,
        margin: int | Sequence[int] = 0,
        scale_targets: MapTransform | None = None,
    ) -> None:
        super().__init__(seed)
        self.scale_targets = scale_targets
        self.maps_after_transforms = transforms is not None and not getattr(
            transforms, "preserves_maps", False
        )
        ndim = len(tuple(patch_size))
        margin = (margin,) * ndim if isinstance(margin, (int, np.integer)) else tuple(margin)
        if len(margin) != ndim or not all(
            isinstance(m, (int, np.integer)) and m >= 0 for m in margin
        ):
            raise ValueError(f"margin must be ints >= 0, one per spatial axis, got {margin!r}")
        if any(margin) and not self.maps_after_transforms:
            raise ValueError(
                "margin needs transforms that resample the patch (preserves_maps=False), "
                f"got {transforms!r}"
            )
        if cache is not None and self.maps_after_transforms:
            raise ValueError(
                "cache holds whole-volume maps, but with transforms that do not preserve "
                "maps the maps are computed per patch; drop the cache"
            )
        self.margin = tuple(int(m) for m in margin)
        if not 0.0 <= foreground_probability <= 1.0:
            raise ValueError(
                f"foreground_probability must lie in [0, 1], got {foreground_probability!r}"
            )
        if isinstance(patches_per_case, bool) or not (
            isinstance(patches_per_case, (int, np.integer)) and patches_per_case >= 1
        ):
            raise ValueError(f"patches_per_case must be an int >= 1, got {patches_per_case!r}")
        if cache is not None:
            for transform in maps:
                if not all(hasattr(transform, a) for a in ("kind", "num_classes", "output_key")):
                    raise ValueError(
                        "maps must be DistanceMapTransforms when a cache is used, "
                        f"got {transform!r}"
                    )
        self.patch_size = tuple(patch_size)
        _check_rotation_planes(transforms, self.patch_size)
        self.maps = list(maps)
        self.transforms = transforms
        self.foreground_probability = float(foreground_probability)
        self.patches_per_case = int(patches_per_case)
        self.cache = cache
        self._store = _CaseStore(cases, preprocess, in_memory, require_label=True)
        self._whole: list[tuple[dict[str, np.ndarray], dict[int, np.ndarray]]] | None = None
        cases_loaded = self._store.scan()
        for case in cases_loaded:
            try:
                check_patch_size(self.patch_size, case.spatial_shape)
            except ValueError as error:
                raise ValueError(f"case {case.case_id}: {error}") from error
        if in_memory:
            self._whole = [self._prepare(case) for case in cases_loaded]

    def whole_maps(self, case: Case) -> dict[str, np.ndarray]:
        """The whole-volume maps of a case, by output key (from the cache if any)."""
        if self.cache is not None:
            return {
                m.output_key: self.cache.get_for(m, case.label, case.spacing) for m in self.maps
            }
        base: Sample = {"label": case.label, "spacing": case.spacing}
        out = _apply_maps(base, self.maps)
        return {key: value for key, value in out.items() if key not in base}

    def _prepare(self, case: Case) -> tuple[dict[str, np.ndarray], dict[int, np.ndarray]]:
        whole = {} if self.maps_after_transforms else self.whole_maps(case)
        return whole, foreground_locations(case.label)

    def __len__(self) -> int:
        return len(self._store.source) * self.patches_per_case

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} patches")
        case_index = index // self.patches_per_case
        case = self._store.load(case_index)
        whole, foreground = (
            self._whole[case_index] if self._whole is not None else self._prepare(case)
        )
        rng = self.rng()
        start = random_patch_start(
            rng, case.spatial_shape, self.patch_size, foreground, self.foreground_probability
        )
        outer = [s - m for s, m in zip(start, self.margin, strict=True)]
        size = [n + 2 * m for n, m in zip(self.patch_size, self.margin, strict=True)]
        sample: Sample = {
            "image": crop_padded(case.image, outer, size),
            "label": crop_padded(case.label, outer, size),
            "spacing": case.spacing,
            "case_id": case.case_id,
            "patch_start": np.asarray(start, dtype=np.int64),
        }
        if case.fov is not None:
            sample["fov"] = crop_padded(case.fov, outer, size)
        for key, array in whole.items():
            sample[key] = crop_patch(array, start, self.patch_size)
        if self.transforms is not None:
            sample = self.transforms(sample, rng)
        if self.maps_after_transforms:
            shape = tuple(np.shape(sample["label"]))
            if shape != self.patch_size:
                raise ValueError(
                    f"transforms returned a {shape} sample, expected patch_size "
                    f"{self.patch_size} (give RandomSpatial output_shape=patch_size)"
                )
            sample = _apply_maps(sample, self.maps)
        return _finish(sample, self.scale_targets)


class EpochDataset(Dataset):
    """A fixed number of samples per epoch drawn from a random-sampling dataset.

    Sample ``i`` is ``dataset[i % len(dataset)]``: with a shuffling sampler every
    underlying item (slice, case) is visited ``samples // len(dataset)`` or one more
    times per epoch, and each visit draws a new random patch and augmentation. This
    decouples the length of an epoch from the number of cases (nnU-Net: 250
    iterations an epoch whatever the dataset size).

    Args:
        dataset: the underlying dataset (e.g. :class:`SliceDataset`,
            :class:`PatchDataset`).
        samples: samples per epoch, ``>= 1``.

    Raises:
        ValueError: ``samples`` not a positive int; an empty ``dataset``.
    """

    def __init__(self, dataset: Dataset, samples: int) -> None:
        if isinstance(samples, bool) or not (
            isinstance(samples, (int, np.integer)) and samples >= 1
        ):
            raise ValueError(f"samples must be an int >= 1, got {samples!r}")
        if len(dataset) == 0:
            raise ValueError("dataset is empty; there is nothing to draw samples from")
        self.dataset = dataset
        self.samples = int(samples)

    def __len__(self) -> int:
        return self.samples

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.samples:
            raise IndexError(f"index {index} out of range for {self.samples} samples")
        return self.dataset[index % len(self.dataset)]


class CaseDataset(Dataset):
    """Whole cases for evaluation: ``{"image", ["label"], "spacing", ["affine"],
    ["fov"], "case_id", [maps]}``.

    Keys whose value is None (no label, no affine, no fov) are left out, so default
    collate works; use ``batch_size=1`` unless all cases share a shape. ``affine`` is
    float64 ``(4, 4)``.

    Args:
        cases: case source.
        preprocess: ``case -> case`` run when a case is loaded.
        maps: map transforms applied to the whole case (for a validation loss).
    """

    def __init__(
        self,
        cases: Sequence[Case],
        preprocess: CasePreprocess | None = None,
        maps: Sequence[MapTransform] = (),
    ) -> None:
        self._store = _CaseStore(cases, preprocess, in_memory=False, require_label=False)
        self.maps = list(maps)

    def __len__(self) -> int:
        return len(self._store.source)

    def __getitem__(self, index: int) -> dict[str, Any]:
        case = self._store.load(index)
        sample: Sample = {
            "image": case.image,
            "label": case.label,
            "spacing": case.spacing,
            "affine": None if case.affine is None else np.asarray(case.affine, np.float64),
            "fov": case.fov,
            "case_id": case.case_id,
        }
        if case.label is not None:
            sample = _apply_maps(sample, self.maps)
        return to_tensors(sample)
