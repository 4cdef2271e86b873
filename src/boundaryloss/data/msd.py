"""3D datasets in the Medical Segmentation Decathlon / nnU-Net raw layout.

::

    <root>/dataset.json
    <root>/imagesTr/<case>.nii.gz            MSD: one file, 4D (X, Y, Z, C) if multi-modal
    <root>/imagesTr/<case>_0000.nii.gz ...   nnU-Net: one 3D file per channel
    <root>/labelsTr/<case>.nii.gz
    <root>/imagesTs/...                      optional test images (labelsTs/ if any)

``dataset.json`` gives the channels (``"modality"`` in MSD and nnU-Net v1,
``"channel_names"`` in nnU-Net v2) and the labels, either ``{"0": "background", ...}``
(MSD, v1) or ``{"background": 0, ...}`` (v2, where a region may list several values).

nnU-Net v2's 2D datasets (``"file_ending": ".png"``, one grey file per channel or one
RGB ``_0000.png``, labels as class-index images) are read too, with the optional
field-of-view masks ``masksTr/<case>.png`` that ``boundaryloss prepare`` writes for
retinal datasets.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np

from .._validation import is_integral
from .case import Case
from .geometry import AFFINE_ATOL_MM
from .io import (
    IMAGE_2D_SUFFIXES,
    NIFTI_SUFFIXES,
    drop_singleton_channel,
    has_suffix,
    read_grey_2d,
    read_image_channels,
    read_mask_2d,
    read_nifti,
    spacing_unit_of,
)
from .source import CaseSource

_CHANNEL = re.compile(r"(?P<id>.+)_(?P<channel>\d{4})$")


class DecathlonDataset(CaseSource):
    """Cases read lazily from an MSD / nnU-Net raw dataset folder.

    Convention:
        ``image`` is float32 ``(C_in, X, Y, Z)`` in the file's voxel axis order, with
        the stored intensities (uint8, int16, float... are converted, not rescaled);
        an MSD 4D file's last axis becomes the channel axis, nnU-Net ``_0000``,
        ``_0001``... files are stacked in channel order. ``label`` is int64
        ``(X, Y, Z)``; float-stored labels are accepted when integral. ``spacing`` is
        the image's voxel size in mm (the header's zooms; ``spacing_unit`` ``"mm"``)
        and ``affine`` its voxel-to-world matrix. ``meta`` holds ``"channels"``
        (names, in order) and ``"labels"`` (class index -> name).

        2D datasets (an image ``file_ending`` such as ``.png``): ``image`` float32
        ``(C_in, H, W)`` scaled to [0, 1] from the file's dtype range (as
        :class:`~boundaryloss.data.folders.ImageFolderDataset`), labels read as stored
        class indices, spacing (1, 1) pixels (``spacing_unit`` ``"px"``), no affine,
        and ``fov`` from ``masks<Tr|Ts>/<case><ending>`` when that folder exists.

    Args:
        root: the dataset folder (holding ``imagesTr/`` and usually ``dataset.json``).
        split: ``"train"`` reads ``imagesTr``/``labelsTr`` (labels required); ``"test"``
            reads ``imagesTs`` and ``labelsTs`` when that folder exists (else the cases
            are unlabelled).
        affine_atol: largest difference (mm) allowed between the affines of a case's
            files.
        label_set: read labels from ``labels<Tr|Ts>_<label_set>`` instead (e.g.
            ``"2nd_manual"``, a second observer written by ``boundaryloss prepare``).

    Raises:
        ValueError: unreadable or inconsistent ``dataset.json``, missing or empty
            images folder, an image without its label, a missing channel file (each
            names the file). Reading a case raises ValueError naming the file(s) for an
            unreadable file, an image/label shape or affine mismatch, a channel count
            differing from ``dataset.json``, or a label value outside its labels.

    Example:
        >>> source = DecathlonDataset("Task04_Hippocampus")  # doctest: +SKIP
        >>> case = source.load("hippocampus_001")  # doctest: +SKIP
        >>> case.image.shape, case.spacing  # doctest: +SKIP
        ((1, 35, 51, 35), (1.0, 1.0, 1.0))
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split: Literal["train", "test"] = "train",
        *,
        affine_atol: float = AFFINE_ATOL_MM,
        label_set: str | None = None,
    ) -> None:
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.root = Path(root)
        self.split = split
        self.affine_atol = affine_atol
        description = read_dataset_json(self.root / "dataset.json")
        self.name: str = description["name"]
        self.channels: tuple[str, ...] | None = description["channels"]
        self.label_names: dict[int, str] | None = description["label_names"]
        self.label_values: frozenset[int] | None = description["label_values"]
        self.file_ending: str = description["file_ending"]

        suffix = "Tr" if split == "train" else "Ts"
        self.images_dir = self.root / f"images{suffix}"
        labels_name = f"labels{suffix}" if label_set is None else f"labels{suffix}_{label_set}"
        self.labels_dir: Path | None = self.root / labels_name
        self.is_2d = not has_suffix(self.file_ending, NIFTI_SUFFIXES)
        masks_dir = self.root / f"masks{suffix}"
        self.masks_dir = masks_dir if self.is_2d and masks_dir.is_dir() else None
        if not self.images_dir.is_dir():
            raise ValueError(f"{self.images_dir}: images folder not found")
        if split == "test" and label_set is None and not self.labels_dir.is_dir():
            self.labels_dir = None
        elif not self.labels_dir.is_dir():
            raise ValueError(f"{self.labels_dir}: labels folder not found")

        self._images = self._find_images()
        self._labels: dict[str, Path | None] = {}
        for case_id, files in self._images.items():
            label = None
            if self.labels_dir is not None:
                label = self.labels_dir / f"{case_id}{self.file_ending}"
                if not label.is_file():
                    raise ValueError(f"{files[0]}: no label file {label}")
            self._labels[case_id] = label
            if self.masks_dir is not None:
                mask = self.masks_dir / f"{case_id}{self.file_ending}"
                if not mask.is_file():
                    raise ValueError(f"{files[0]}: no field-of-view mask {mask}")
        self._check_no_orphan_labels()
        self._set_case_ids(self._images)

    def _check_no_orphan_labels(self) -> None:
        """A label file without its image would be skipped silently: refuse it."""
        if self.labels_dir is None:
            return
        ending = self.file_ending
        orphans = sorted(
            path
            for path in self.labels_dir.iterdir()
            if path.name.endswith(ending)
            and not path.name.startswith(".")
            and path.name[: -len(ending)] not in self._images
        )
        if orphans:
            raise ValueError(
                f"{orphans[0]}: label without an image in {self.images_dir} "
                f"({len(orphans)} such label file(s)); the case would be left out silently"
            )

    def files(self, case_id: str) -> tuple[tuple[Path, ...], Path | None]:
        """The ``(image files, label file)`` of a case (label None when unlabelled)."""
        return self._images[case_id], self._labels[case_id]

    @property
    def num_classes(self) -> int | None:
        """``max(label value) + 1`` from dataset.json, or None without one."""
        return None if self.label_values is None else max(self.label_values) + 1

    def _find_images(self) -> dict[str, tuple[Path, ...]]:
        ending = self.file_ending
        stems = sorted(
            p.name[: -len(ending)]
            for p in self.images_dir.iterdir()
            if p.name.endswith(ending) and not p.name.startswith(".") and p.is_file()
        )
        if not stems:
            raise ValueError(f"{self.images_dir}: no image files ending in {ending!r}")
        matches = [_CHANNEL.fullmatch(stem) for stem in stems]
        if not all(matches):  # MSD: one (possibly 4D) file per case
            return {stem: (self.images_dir / f"{stem}{ending}",) for stem in stems}
        channels: dict[str, set[int]] = {}
        for match in matches:
            channels.setdefault(match["id"], set()).add(int(match["channel"]))
        count = len(self.channels) if self.channels else max(map(max, channels.values())) + 1
        images = {}
        for case_id, present in sorted(channels.items()):
            paths = tuple(self.images_dir / f"{case_id}_{c:04d}{ending}" for c in range(count))
            if self.is_2d and present == {0}:  # nnU-Net's natural images: one RGB _0000 file
                paths = paths[:1]
            missing = [p for c, p in enumerate(paths) if c not in present]
            if missing:
                raise ValueError(
                    f"{missing[0]}: channel file missing for case {case_id!r} "
                    f"(expected {count} channels _0000 to _{count - 1:04d})"
                )
            extra = sorted(present - set(range(count)))
            if extra:
                raise ValueError(
                    f"{self.images_dir / f'{case_id}_{extra[0]:04d}{ending}'}: unexpected "
                    f"channel file; dataset.json lists {count} channels"
                )
            images[case_id] = paths
        return images

    def _load(self, case_id: str) -> Case:
        image_paths, label_path = self._images[case_id], self._labels[case_id]
        if self.is_2d:
            return self._load_2d(case_id, image_paths, label_path)
        image, spacing, affine = self._read_image(image_paths)
        label = None
        if label_path is not None:
            data, _, label_affine = read_nifti(label_path)
            data = drop_singleton_channel(data)
            if data.shape != image.shape[1:]:
                raise ValueError(
                    f"{label_path}: label shape {data.shape} does not match image "
                    f"{image_paths[0]} shape {image.shape[1:]}"
                )
            self._check_affine(label_affine, affine, label_path, image_paths[0])
            label = self._label_values(data, label_path)
        return Case(
            case_id=case_id,
            image=image,
            label=label,
            spacing=spacing,
            spacing_unit=spacing_unit_of(image_paths[0]),
            affine=affine,
            source=(*image_paths, *([label_path] if label_path else [])),
            meta={
                "dataset": self.name,
                "channels": self.channels,
                "labels": self.label_names,
            },
        )

    def _load_2d(self, case_id: str, image_paths: tuple[Path, ...], label_path: Path | None):
        channels = [read_image_channels(image_paths[0])]
        for path in image_paths[1:]:
            channels.append(read_image_channels(path))
            if channels[-1].shape[1:] != channels[0].shape[1:]:
                raise ValueError(
                    f"{path}: channel shape {channels[-1].shape[1:]} does not match "
                    f"{image_paths[0]} shape {channels[0].shape[1:]}"
                )
        image = np.concatenate(channels)
        if self.channels is not None and image.shape[0] != len(self.channels):
            raise ValueError(
                f"{image_paths[0]}: {image.shape[0]} channel(s) but dataset.json lists "
                f"{len(self.channels)}: {list(self.channels)}"
            )
        spatial = image.shape[1:]
        label = fov = None
        sources = list(image_paths)
        if label_path is not None:
            data = read_grey_2d(label_path, "label")
            if data.shape != spatial:
                raise ValueError(
                    f"{label_path}: label shape {data.shape} does not match image "
                    f"{image_paths[0]} shape {spatial}"
                )
            label = self._label_values(data, label_path)
            sources.append(label_path)
        if self.masks_dir is not None:
            mask_path = self.masks_dir / f"{case_id}{self.file_ending}"
            fov = read_mask_2d(mask_path)
            if fov.shape != spatial:
                raise ValueError(
                    f"{mask_path}: mask shape {fov.shape} does not match image "
                    f"{image_paths[0]} shape {spatial}"
                )
            sources.append(mask_path)
        return Case(
            case_id=case_id,
            image=image,
            label=label,
            spacing=(1.0, 1.0),
            spacing_unit=spacing_unit_of(image_paths[0]),
            fov=fov,
            source=tuple(sources),
            meta={"dataset": self.name, "channels": self.channels, "labels": self.label_names},
        )

    def _read_image(self, paths: tuple[Path, ...]):
        first, spacing, affine = read_nifti(paths[0])
        if len(paths) == 1:
            if first.ndim == 3:
                stacked = first[None]
            elif first.ndim == 4:
                stacked = np.moveaxis(first, -1, 0)
            else:
                raise ValueError(f"{paths[0]}: expected a 3D or 4D image, got shape {first.shape}")
            if self.channels is not None and stacked.shape[0] != len(self.channels):
                raise ValueError(
                    f"{paths[0]}: {stacked.shape[0]} channel(s) (shape {first.shape}) but "
                    f"dataset.json lists {len(self.channels)}: {list(self.channels)}"
                )
        else:
            volumes = [_as_3d(first, paths[0])]
            for path in paths[1:]:
                data, _, channel_affine = read_nifti(path)
                data = _as_3d(data, path)
                if data.shape != volumes[0].shape:
                    raise ValueError(
                        f"{path}: channel shape {data.shape} does not match {paths[0]} "
                        f"shape {volumes[0].shape}"
                    )
                self._check_affine(channel_affine, affine, path, paths[0])
                volumes.append(data)
            stacked = np.stack(volumes)
        if not (np.issubdtype(stacked.dtype, np.number) and stacked.dtype.kind != "c"):
            raise ValueError(f"{paths[0]}: image dtype {stacked.dtype} is not a real number type")
        return np.ascontiguousarray(stacked, dtype=np.float32), spacing, affine

    def _check_affine(self, affine, reference, path: Path, reference_path: Path) -> None:
        if not np.allclose(affine, reference, rtol=0.0, atol=self.affine_atol):
            difference = float(np.max(np.abs(affine - reference)))
            raise ValueError(
                f"{path}: affine differs from {reference_path} by up to {difference:.3g} "
                f"(tolerance {self.affine_atol})"
            )

    def _label_values(self, data: np.ndarray, path: Path) -> np.ndarray:
        if np.issubdtype(data.dtype, np.floating):
            if not is_integral(data):
                raise ValueError(f"{path}: label holds non-integral values; expected class ids")
        elif not np.issubdtype(data.dtype, np.integer) and data.dtype != bool:
            raise ValueError(f"{path}: label dtype {data.dtype} is not integer class ids")
        label = data.astype(np.int64)
        found = np.unique(label)
        allowed = self.label_values
        unexpected = [int(v) for v in found if (v < 0 if allowed is None else v not in allowed)]
        if unexpected:
            expected = "non-negative" if allowed is None else f"dataset.json's {sorted(allowed)}"
            raise ValueError(
                f"{path}: label values {unexpected[:8]} are outside {expected} "
                f"(found {found[:16].tolist()})"
            )
        return label

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.root}, split={self.split!r}, {len(self)} cases)"


def read_dataset_json(path: str | os.PathLike) -> dict:
    """Parse an MSD / nnU-Net ``dataset.json`` into what the reader needs.

    Returns:
        ``{"name", "channels", "label_names", "label_values", "file_ending"}``:
        channel names in channel order (None when not given), class index -> name,
        the set of label values a label file may hold (None when not given), and the
        image file ending (``".nii.gz"`` by default). A missing file gives Nones and
        the folder name.

    Raises:
        ValueError: invalid JSON, label or channel entries of the wrong form, or a
            file ending that is neither NIfTI nor a 2D image format (names the file).
    """
    path = Path(path)
    if not path.is_file():
        return {
            "name": path.parent.name,
            "channels": None,
            "label_names": None,
            "label_values": None,
            "file_ending": ".nii.gz",
        }
    try:
        description = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: cannot read dataset.json ({error})") from error
    if not isinstance(description, dict):
        raise ValueError(f"{path}: expected a JSON object")
    file_ending = description.get("file_ending", ".nii.gz")
    if file_ending not in NIFTI_SUFFIXES + IMAGE_2D_SUFFIXES:
        raise ValueError(
            f"{path}: file_ending {file_ending!r} is not supported; expected one of "
            f"{list(NIFTI_SUFFIXES + IMAGE_2D_SUFFIXES)}"
        )
    channels = description.get("channel_names", description.get("modality"))
    label_names, label_values = _parse_labels(description.get("labels"), path)
    return {
        "name": str(description.get("name", path.parent.name)),
        "channels": None if channels is None else _parse_channels(channels, path),
        "label_names": label_names,
        "label_values": label_values,
        "file_ending": file_ending,
    }


def _parse_channels(channels, path: Path) -> tuple[str, ...]:
    try:
        indexed = {int(k): str(v) for k, v in dict(channels).items()}
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{path}: channel_names/modality must map channel numbers to names, got {channels!r}"
        ) from error
    if sorted(indexed) != list(range(len(indexed))) or not indexed:
        raise ValueError(f"{path}: channel numbers must be 0..N-1, got {sorted(indexed)}")
    return tuple(indexed[i] for i in range(len(indexed)))


def _parse_labels(labels, path: Path) -> tuple[dict[int, str] | None, frozenset[int] | None]:
    """Both label styles: ``{"0": "background"}`` (MSD, nnU-Net v1) and ``{"background": 0}``."""
    if labels is None:
        return None, None
    if not isinstance(labels, Mapping) or not labels:
        raise ValueError(f"{path}: 'labels' must be a non-empty object, got {labels!r}")
    names: dict[int, str] = {}
    values: set[int] = set()
    if all(isinstance(v, str) for v in labels.values()):  # MSD / v1
        for key, name in labels.items():
            if not (isinstance(key, str) and key.lstrip("-").isdigit()):
                raise ValueError(f"{path}: label key {key!r} is not a class number")
            names[int(key)] = name
        values = set(names)
    else:  # nnU-Net v2: name -> value, or name -> [values] for regions
        for name, value in labels.items():
            members = value if isinstance(value, list) else [value]
            if not members or not all(
                isinstance(m, int) and not isinstance(m, bool) for m in members
            ):
                raise ValueError(
                    f"{path}: label {name!r} must map to an int or a list of ints, got {value!r}"
                )
            values.update(members)
            if not isinstance(value, list):
                names[value] = name
    if min(values) < 0:
        raise ValueError(f"{path}: label values must be >= 0, got {sorted(values)}")
    return names, frozenset(values)


def _as_3d(data: np.ndarray, path: Path) -> np.ndarray:
    data = drop_singleton_channel(data)
    if data.ndim != 3:
        raise ValueError(f"{path}: expected a 3D channel file, got shape {data.shape}")
    return data
