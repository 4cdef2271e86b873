"""From a ``DataConfig`` to cases, a split, and training/validation datasets."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..config import ConfigError
from ..data import (
    DecathlonDataset,
    ImageFolderDataset,
    chase_db1,
    drive,
    red_channel_fov,
    stare,
    synthetic_2d,
    synthetic_3d,
)
from ..data.augment import (
    Compose,
    Pad,
    RandomCrop,
    RandomFlip,
    RandomGamma,
    RandomIntensity,
    RandomRot90,
)
from ..data.case import shared_spacing_unit
from ..data.datasets import CaseDataset, EpochDataset, PatchDataset, SliceDataset
from ..data.idrid import IDRID_SPLITS, idrid, idrid_has_split
from ..data.intensity import (
    RandomBrightness,
    RandomContrast,
    RandomGaussianBlur,
    RandomGaussianNoise,
    RandomLowResolution,
)
from ..data.preprocess import Preprocess
from ..data.spatial import RandomSpatial
from ..data.splits import Split, load_splits, select_cases, train_val_split
from ..maps import DistanceMapTransform, MapSpec


def build_cases(config, split: Literal["train", "test"] = "train") -> Sequence:
    """The case source a ``DataConfig`` names (lazy for on-disk datasets).

    Args:
        split: ``"train"``, the cases a run trains and validates on (at most
            ``data.max_cases``), or ``"test"``, the dataset's own test split (see
            :func:`dataset_test_split`).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if config.source == "synthetic":
        if split == "test":
            raise ConfigError("data.source: synthetic data has no test split")
        syn = config.synthetic
        make = synthetic_2d if len(syn.shape) == 2 else synthetic_3d
        return make(
            syn.cases,
            shape=tuple(syn.shape),
            foreground_fraction=syn.foreground_fraction,
            num_classes=syn.num_classes,
            seed=syn.seed,
        )
    root = Path(config.root).expanduser()  # given for every source but synthetic
    if not root.exists():
        raise ConfigError(f"data.root: {root} does not exist")
    if split == "test":
        return dataset_test_split(config, root)
    readers = {
        "msd": lambda: DecathlonDataset(root),
        # The conventional CHASE_DB1 test images (children 11-14) stay out of training.
        "chase_db1": lambda: chase_db1(root, split="training"),
        "drive": lambda: drive(root, "training"),
        "stare": lambda: stare(root),
        "idrid": lambda: idrid(
            root, config.idrid.lesion, "training", fov_threshold=config.idrid.fov_threshold
        ),
        "folders": lambda: folder_cases(config, root, "train"),
    }
    cases = readers[config.source]()
    if config.max_cases is not None:
        cases = select_cases(cases, list(cases.case_ids)[: config.max_cases])
    return cases


def dataset_test_split(config, root: Path) -> Sequence:
    """The test split of the dataset at ``root``, read as ``data.source`` names it.

    ``msd`` (and every dataset ``boundaryloss prepare`` writes): ``imagesTs`` with
    ``labelsTs`` (and ``masksTs`` field-of-view masks for 2D datasets); ``drive``:
    ``test/images`` with ``test/1st_manual`` and ``test/mask``; ``chase_db1``: the
    conventional last 8 images (children 11-14), as the dataset defines no split;
    ``idrid``: ``b. Testing Set`` with the same lesion's masks; ``folders``: the
    ``data.folders.test_*`` folders. STARE defines no test split either, and papers
    disagree on one (leave-one-out, halves), so ``stare`` is an error.

    Args:
        config: the ``DataConfig``.

    Raises:
        ConfigError: a source without a test split.
        ValueError: the split's folders or files are missing (named), as the readers.
    """
    source = config.source
    if source == "stare":
        raise ConfigError(
            "data.source: STARE defines no test split (papers use leave-one-out or their "
            "own halves); evaluate the run's validation cases (--split val) instead"
        )
    if source == "idrid" and not idrid_has_split(root, "test"):
        raise ValueError(
            f"{root}: this IDRiD copy has no '{IDRID_SPLITS['test']}' folder (the official "
            "test set: IDRiD_55-81); evaluate the run's validation cases (--split val) instead"
        )
    if source == "folders" and config.folders.test_images is None:
        raise ConfigError(
            "data.folders.test_images: not set, so the dataset has no test split; set it "
            "(and test_labels) or evaluate the run's validation cases (--split val)"
        )
    readers = {
        "msd": lambda: DecathlonDataset(root, "test"),
        "chase_db1": lambda: chase_db1(root, split="test"),
        "drive": lambda: drive(root, "test"),
        "idrid": lambda: idrid(
            root, config.idrid.lesion, "test", fov_threshold=config.idrid.fov_threshold
        ),
        "folders": lambda: folder_cases(config, root, "test"),
    }
    return readers[source]()


def folder_cases(config, root: Path, split: Literal["train", "test"]) -> ImageFolderDataset:
    """The cases of ``data.source: folders`` (see ``FoldersConfig``), folders taken
    relative to ``root``.

    Raises:
        ValueError: as :class:`~boundaryloss.data.ImageFolderDataset`.
    """
    folders = config.folders
    label_values = None
    if folders.label_values is not None:  # keys checked as integers by FoldersConfig
        label_values = {int(stored): index for stored, index in folders.label_values.items()}
    names = (folders.images, folders.labels, folders.fov)
    if split == "test":
        names = (folders.test_images, folders.test_labels, folders.test_fov)
        if (folders.fov is None) != (folders.test_fov is None):
            given, missing = (
                ("fov", "test_fov") if folders.test_fov is None else ("test_fov", "fov")
            )
            raise ConfigError(
                f"data.folders.{missing}: required with {given} for --split test, or the test "
                "split would be scored over another area than validation"
            )
    images, labels, fov = (
        None if name is None else root / Path(name).expanduser() for name in names
    )
    fov_from_image = None
    if folders.fov_threshold is not None:
        fov_from_image = red_channel_fov(folders.fov_threshold, solid=True)
    return ImageFolderDataset(
        images,
        labels,
        image_pattern=folders.image_pattern,
        label_pattern=folders.label_pattern,
        fov=fov,
        fov_pattern=folders.fov_pattern if fov is not None else None,
        fov_from_image=fov_from_image,
        label_values=label_values,
        num_classes=None if folders.label_rule == "nonzero" else config.num_classes,
        id_regex=folders.id_regex,
        on_missing_label=folders.missing_label,
        label_rule=folders.label_rule,
        meta={"dataset": "folders", "split": split},
    )


def case_ids(cases: Sequence) -> list[str]:
    """The ids of a case source (read from its index, without loading a case) or of a
    list of cases."""
    ids = getattr(cases, "case_ids", None)
    return list(ids) if ids is not None else [case.case_id for case in cases]


def make_split(config, cases: Sequence, saved: Path | None = None) -> Split:
    """Case-level train/validation split; ``saved`` (a resumed run's ``splits.json``) is
    reused when it exists. Nothing is written here: the trainer saves the split."""
    if saved is not None and saved.is_file():
        return load_splits(saved)[0]
    return train_val_split(
        case_ids(cases),
        val_fraction=config.val_fraction,
        seed=config.split_seed,
        group=config.group_regex or None,  # a valid regex: checked by DataConfig
    )


def known_label_values(config, cases: Sequence) -> frozenset[int] | None:
    """The label values the data can contain, from the source's description (synthetic
    classes, ``dataset.json`` labels, binary vessel datasets); None when unknown."""
    if config.source == "synthetic":
        return frozenset(range(config.synthetic.num_classes))
    if config.source in ("chase_db1", "drive", "stare", "idrid"):
        return frozenset((0, 1))
    if config.source == "folders" and config.folders.label_rule == "nonzero":
        return frozenset((0, 1))
    if config.source == "folders" and config.folders.label_values is not None:
        return frozenset(config.folders.label_values.values())  # the classes, not the pixels
    values = getattr(cases, "label_values", None)
    return frozenset(int(v) for v in values) if values is not None else None


def absent_classes(config, cases: Sequence) -> tuple[int, ...]:
    """Classes below ``num_classes`` that the labels never contain (they would score a
    perfect Dice and inflate the mean).

    Raises:
        ConfigError: the labels contain classes ``>= num_classes`` (found at setup,
            naming ``data.num_classes``, instead of by the loss at the first step).
    """
    values = known_label_values(config, cases)
    if values is None:
        return ()
    beyond = sorted(v for v in values if v >= config.num_classes)
    if beyond:
        where = (
            f"the synthetic labels (data.synthetic.num_classes={config.synthetic.num_classes})"
            if config.source == "synthetic"
            else "the dataset's labels"
        )
        raise ConfigError(
            f"data.num_classes: {config.num_classes}, but {where} contain class(es) "
            f"{', '.join(map(str, beyond))}; set data.num_classes to {max(values) + 1}"
        )
    return tuple(c for c in range(1, config.num_classes) if c not in values)


def make_preprocess(config, source_channels: int | None = None) -> Preprocess:
    """The case preprocessing of a ``DataConfig``: ``channels``, ``resize`` and
    ``normalization`` (``percentile``: min-max between the 0.5th and 99.5th
    percentiles). ``source_channels``: the channel count of the training images, which
    every image must have when ``channels`` selects among them (None: unchecked)."""
    normalization = "minmax" if config.normalization == "percentile" else config.normalization
    clip = (0.5, 99.5) if config.normalization == "percentile" else None
    shape = tuple(config.resize) if config.resize else None
    channels = tuple(config.channels) if config.channels is not None else None
    return Preprocess(
        shape=shape,
        normalization=normalization,
        clip=clip,
        channels=channels,
        source_channels=source_channels if channels is not None else None,
    )


class PadToPatch:
    """Preprocess, then pad a training case to at least the patch size (as nnU-Net
    does), so cases smaller than the patch can still be trained on: the image with 0
    (the mean after z-scoring), the label with background, the fov with False. Maps are
    computed afterwards, on the padded case."""

    def __init__(self, preprocess: Preprocess, patch: Sequence[int]) -> None:
        self.preprocess = preprocess
        self.pad = Pad(patch)

    def __call__(self, case):
        case = self.preprocess(case)
        sample = {"image": case.image, "label": case.label, "fov": case.fov}
        padded = self.pad(sample)
        if padded["image"].shape == case.image.shape:
            return case
        return case.with_arrays(image=padded["image"], label=padded["label"], fov=padded["fov"])


def map_transforms(specs: Sequence[MapSpec], num_classes: int) -> list[DistanceMapTransform]:
    """One transform per map the loss declares, computing only the channels it reads."""
    return [DistanceMapTransform.from_spec(spec, num_classes) for spec in specs]


def context_margin(config, patch: Sequence[int] | None) -> tuple[int, ...] | int:
    """Context voxels per side around a patch for the spatial transform (0 when it is
    off): ``ceil(patch * (augment.context - 1) / 2)``."""
    augment = config.augment
    if patch is None or not augment.spatial:
        return 0
    return tuple(math.ceil(p * (augment.context - 1) / 2) for p in patch)


def intensity_transforms(augment) -> list:
    """nnU-Net's intensity augmentation, in its order, for the non-zero probabilities."""
    steps: list = []
    for p, make in (
        (augment.p_noise, lambda p: RandomGaussianNoise(p=p)),
        (augment.p_blur, lambda p: RandomGaussianBlur(p=p)),
        (augment.p_brightness, lambda p: RandomBrightness(p=p)),
        (augment.p_contrast, lambda p: RandomContrast(p=p)),
        (augment.p_low_resolution, lambda p: RandomLowResolution(p=p)),
        (augment.p_gamma_inverted, lambda p: RandomGamma(p=p, invert=True, retain_stats=True)),
        (augment.p_gamma, lambda p: RandomGamma(p=p, retain_stats=True)),
    ):
        if p > 0:
            steps.append(make(p))
    return steps


def training_transforms(config, spatial_dims: int, patch: Sequence[int] | None) -> Compose:
    """Augmentation: for 2D slices pad/crop to the patch first (3D patches are cut by
    :class:`PatchDataset`, with the same context), then the spatial transform (rotation,
    zoom, elastic; resampling the patch from its context), flips, 90-degree rotations,
    intensity jitter and nnU-Net's intensity transforms. Maps are computed after all of
    them by the datasets."""
    augment = config.augment
    steps: list = []
    margin = context_margin(config, patch)
    if patch is not None and spatial_dims == 2:
        steps += [
            Pad(patch),
            RandomCrop(patch, foreground_probability=config.foreground_probability, margin=margin),
        ]
    if augment.spatial:
        try:
            steps.append(
                RandomSpatial(
                    rotation=augment.rotation,
                    p_rotation=augment.p_rotation,
                    scale=augment.scale,
                    p_scale=augment.p_scale,
                    elastic_magnitude=augment.elastic_magnitude,
                    elastic_sigma=augment.elastic_sigma,
                    p_elastic=augment.p_elastic,
                    output_shape=patch,
                )
            )
        except ValueError as error:
            raise ConfigError(f"data.augment: {error}") from error
    if augment.flip:
        steps.append(RandomFlip())
    # Rotations by 90 degrees in the (0, 1) plane keep a batch's shapes only when the
    # patch is square there.
    square = patch is not None and patch[0] == patch[1]
    if augment.rot90 and square:
        steps.append(RandomRot90((0, 1)))
    if augment.intensity:
        steps.append(RandomIntensity())
    try:
        steps += intensity_transforms(augment)
    except ValueError as error:
        raise ConfigError(f"data.augment: {error}") from error
    return Compose(steps)


def sample_shape(
    case_shape: Sequence[int], patch: Sequence[int] | None, spatial_dims: int, slice_axis: int
) -> tuple[int, ...]:
    """Spatial shape of a training sample: the patch, else the (sliced) case's shape."""
    if patch is not None:
        return tuple(patch)
    shape = tuple(case_shape)
    if spatial_dims == 2 and len(shape) == 3:
        shape = tuple(size for axis, size in enumerate(shape) if axis != slice_axis % 3)
    return shape


class _ShapeRecorder:
    """A case preprocess that also notes the spatial shape and the spacing unit of every
    case it prepares (the training datasets load each case once when built)."""

    def __init__(self, preprocess: Preprocess) -> None:
        self.preprocess = preprocess
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.units: set[str] = set()

    def __call__(self, case):
        case = self.preprocess(case)
        self.shapes[case.case_id] = tuple(case.spatial_shape)
        self.units.add(case.spacing_unit)
        return case


def check_same_slice_size(shapes: dict[str, tuple[int, ...]], slice_axis: int) -> None:
    """Refuse training cases whose 2D samples differ in size without a patch to cut.

    Args:
        shapes: case id -> spatial shape (2D, or 3D sliced along ``slice_axis``).

    Raises:
        ConfigError: naming ``data.patch_size`` and two cases of different sizes.
    """
    seen: dict[tuple[int, ...], str] = {}
    for case_id, shape in shapes.items():
        size = sample_shape(shape, None, 2, slice_axis)
        seen.setdefault(size, case_id)
        if len(seen) > 1:
            (a, first), (b, second) = list(seen.items())[:2]
            raise ConfigError(
                f"data.patch_size: training slices have different sizes ({first}: {list(a)}, "
                f"{second}: {list(b)}) and cannot form batches; set data.patch_size (or "
                "data.resize)"
            )


@dataclass
class RunData:
    """Everything the trainer needs from the data side."""

    train: Any  # torch Dataset of training samples
    val_cases: Sequence  # validation cases (whole)
    preprocess: Preprocess
    split: Split
    in_channels: int
    spatial_dims: int
    slice_axis: int
    spacing_unit: str  # of the cases' spacing, so of validation HD95
    image_channels: int | None = None  # of the stored images, before data.channels
    absent_classes: tuple[int, ...] = ()
    sample_shape: tuple[int, ...] = ()  # spatial shape of a training sample (the first)


def build_run_data(
    config,
    specs: Sequence[MapSpec],
    saved_split: Path | None,
    spatial_dims: int,
    seed: int,
    scale_targets: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
) -> RunData:
    """Cases, split and datasets of a run; reads data but writes nothing.

    Args:
        saved_split: a resumed run's ``splits.json`` (reused), or None for a new split.
        scale_targets: the deep-supervision targets transform the training datasets run
            last on every sample (see :func:`~boundaryloss.training.supervision.
            scale_targets_transform`), or None.
    """
    data = config
    cases = build_cases(data)
    split = make_split(data, cases, saved_split)
    train_cases = select_cases(cases, split.train)
    val_cases = select_cases(cases, split.val)
    raw_first = train_cases[0]
    image_channels = raw_first.image.shape[0]  # before data.channels selects among them
    preprocess = make_preprocess(data, source_channels=image_channels)
    first = preprocess(raw_first)
    if first.label is None:
        raise ConfigError(f"data: case {first.case_id} has no label; training needs labels")
    maps = map_transforms(specs, data.num_classes)
    patch = tuple(data.patch_size) if data.patch_size else None
    recorder = _ShapeRecorder(preprocess)
    if spatial_dims == 2:  # the patch's number of sizes is checked by RunConfig
        train = SliceDataset(  # loads every training case once: the recorder sees them
            train_cases,
            axis=data.slice_axis,
            transforms=training_transforms(data, 2, patch),
            maps=maps,
            preprocess=recorder,
            seed=seed,
            scale_targets=scale_targets,
        )
        if patch is None:
            check_same_slice_size(recorder.shapes, data.slice_axis)
    else:
        if first.ndim != 3:
            raise ConfigError("model.spatial_dims: 3 needs 3D cases")
        train = PatchDataset(
            train_cases,
            patch_size=patch,
            maps=maps,
            transforms=training_transforms(data, 3, patch),
            margin=context_margin(data, patch),
            foreground_probability=data.foreground_probability,
            preprocess=PadToPatch(recorder, patch),  # loads every training case once
            seed=seed,
            scale_targets=scale_targets,
        )
    if data.samples_per_epoch is not None:
        train = EpochDataset(train, data.samples_per_epoch)
    # The unit of validation HD95 (and of the distance maps): one for all the cases. The
    # training cases were all loaded above; the validation cases are checked as they are
    # read (validation_dataset), so no case is read twice for it.
    spacing_unit = shared_spacing_unit(recorder.units)  # ValueError for mixed units
    return RunData(
        train=train,
        val_cases=val_cases,
        preprocess=preprocess,
        split=split,
        in_channels=first.image.shape[0],
        image_channels=image_channels,
        spatial_dims=spatial_dims,
        slice_axis=data.slice_axis,
        absent_classes=absent_classes(data, cases),
        sample_shape=sample_shape(first.spatial_shape, patch, spatial_dims, data.slice_axis),
        spacing_unit=spacing_unit,
    )


def validation_dataset(run_data: RunData) -> CaseDataset:
    """The run's whole validation cases, preprocessed; each must measure in the run's
    spacing unit (``run_data.spacing_unit``, the training cases'), else ValueError when
    it is read."""
    return CaseDataset(
        run_data.val_cases, preprocess=_SameUnit(run_data.preprocess, run_data.spacing_unit)
    )


class _SameUnit:
    """A case preprocess that refuses a case whose spacing is not in ``unit``."""

    def __init__(self, preprocess: Preprocess, unit: str) -> None:
        self.preprocess = preprocess
        self.unit = unit

    def __call__(self, case):
        shared_spacing_unit({case.spacing_unit, self.unit})  # ValueError for another unit
        return self.preprocess(case)
