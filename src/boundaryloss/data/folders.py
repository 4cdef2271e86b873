"""2D datasets stored as folders of image files, paired with their labels by file name.

:class:`ImageFolderDataset` reads any layout whose images, labels and (optional)
field-of-view masks are matched by name patterns with an ``{id}`` placeholder;
:func:`drive`, :func:`chase_db1` and :func:`stare` are the retinal-vessel layouts as
their archives unpack.
"""

from __future__ import annotations

import numbers
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from .._validation import check_one_of, is_integral
from .case import SPACING_UNITS, Case
from .fov import solid_fov
from .io import (
    read_grey_2d,
    read_image_channels,
    read_mask_2d,
    read_nonzero_mask_2d,
    spacing_unit_of,
)
from .source import CaseSource

#: Label images whose values are neither {0, 255} nor in ``label_values`` are read as
#: class indices only when every value is below this (pass ``num_classes`` for more).
MAX_AUTO_CLASSES = 32

#: What :class:`ImageFolderDataset` does with an image that has no label file.
MISSING_LABEL_RULES = ("error", "skip", "unlabelled", "background")
#: How :class:`ImageFolderDataset` reads label files: by value, or any non-zero pixel.
LABEL_RULES = ("values", "nonzero")

Patterns = str | Sequence[str]
FovFromImage = Callable[[np.ndarray], np.ndarray]


class ImageFolderDataset(CaseSource):
    """Cases read lazily from an images folder and a labels folder matched by name.

    Convention:
        ``image`` is float32 ``(C_in, H, W)`` scaled to [0, 1] from the file's dtype
        range (grey -> 1 channel, colour -> 3 RGB channels, alpha dropped).
        ``label`` is int64 ``(H, W)``, from the file's values as
        :func:`~boundaryloss.data.io.read_grey_2d` reads them (bilevel files and
        two-entry grey palettes such as DRIVE's GIFs give {0, 255}, colour palettes
        their indices): {0, 255} is binary and becomes {0, 1}; otherwise its
        values are class indices (every value < ``num_classes``, or < 32 when that is
        not given), unless ``label_values`` maps stored values to classes. ``fov`` is
        a bool ``(H, W)`` mask from a mask file ({0, 255} or {0, 1}) or computed from
        the image, else None. ``spacing`` is (1, 1) by default, in the image file's
        unit (:func:`~boundaryloss.data.io.spacing_unit_of`: ``"px"``, image files
        carry no physical pixel size).

    Args:
        images: folder of image files.
        labels: folder of label files (may be the same folder), or None for unlabelled
            cases.
        image_pattern: file name(s) of an image, with one ``{id}`` placeholder, e.g.
            ``"{id}_training.tif"``. With several, each is tried in order and an id is
            taken from the first that matches. Hidden files (``.name``) are ignored.
        label_pattern: file name(s) of a label, e.g. ``"{id}_manual1.gif"``; the first
            that exists is used. Default: ``image_pattern``.
        fov: folder of field-of-view masks, or None.
        fov_pattern: mask file name(s), e.g. ``"{id}_training_mask.gif"``.
        fov_from_image: instead of mask files, a function from the image
            ``(C_in, H, W)`` to a bool ``(H, W)`` mask (e.g. :func:`red_channel_fov`).
        label_values: explicit map from stored label value to class index, e.g.
            ``{0: 0, 128: 1, 255: 2}``; any other stored value is an error.
        label_rule: ``"values"`` reads labels as above; ``"nonzero"`` reads a binary
            label in which any non-zero pixel (in any colour channel) is class 1
            (:func:`~boundaryloss.data.io.read_nonzero_mask_2d`; IDRiD's lesion masks).
        num_classes: when given, class-index labels must lie in ``[0, num_classes)``.
        id_regex: what ``{id}`` may match (a regular expression), e.g. ``r"\\d+"``.
        on_missing_label: an image without a label file is an ``"error"``, is
            ``"skip"``-ped, becomes an ``"unlabelled"`` case (label None), or has an
            all-``"background"`` label (layouts that omit the masks of images without
            the structure, as IDRiD does).
        spacing: pixel size (row, column), in ``spacing_unit``.
        spacing_unit: ``"mm"`` when ``spacing`` is a known physical pixel size, or
            ``"px"``; None (default): the image file's
            (:func:`~boundaryloss.data.io.spacing_unit_of`; see
            :class:`~boundaryloss.data.case.Case`).
        meta: copied into every case's ``meta`` (e.g. dataset name, observer).

    Raises:
        ValueError: a folder is missing or holds no matching image; an image has no
            label or mask file (names the image and the pattern); a pattern has no
            ``{id}``; both ``fov`` and ``fov_from_image`` are given. Reading a case
            (:meth:`load`, indexing, iteration) raises ValueError naming the file(s)
            for a corrupt file, an image/label/mask shape mismatch and unexpected
            label or mask values.

    Example:
        >>> source = ImageFolderDataset(  # doctest: +SKIP
        ...     "DRIVE/training/images", "DRIVE/training/1st_manual",
        ...     image_pattern="{id}_training.tif", label_pattern="{id}_manual1.gif",
        ...     fov="DRIVE/training/mask", fov_pattern="{id}_training_mask.gif")
        >>> case = source[0]  # doctest: +SKIP
        >>> case.image.shape, case.label.dtype, case.fov.dtype  # doctest: +SKIP
        ((3, 584, 565), dtype('int64'), dtype('bool'))
    """

    def __init__(
        self,
        images: str | os.PathLike,
        labels: str | os.PathLike | None = None,
        *,
        image_pattern: Patterns = "{id}.png",
        label_pattern: Patterns | None = None,
        fov: str | os.PathLike | None = None,
        fov_pattern: Patterns | None = None,
        fov_from_image: FovFromImage | None = None,
        label_values: Mapping[int, int] | None = None,
        num_classes: int | None = None,
        id_regex: str = ".+",
        on_missing_label: Literal["error", "skip", "unlabelled", "background"] = "error",
        spacing: tuple[float, float] = (1.0, 1.0),
        meta: Mapping | None = None,
        spacing_unit: str | None = None,
        label_rule: Literal["values", "nonzero"] = "values",
    ) -> None:
        check_one_of(on_missing_label, MISSING_LABEL_RULES, "on_missing_label")
        check_one_of(label_rule, LABEL_RULES, "label_rule")
        if label_rule == "nonzero" and (label_values is not None or num_classes not in (None, 2)):
            raise ValueError(
                "label_rule='nonzero' reads binary labels; it takes neither label_values "
                f"nor num_classes={num_classes}"
            )
        if fov is not None and fov_from_image is not None:
            raise ValueError("give either fov (mask files) or fov_from_image, not both")
        if fov is not None and fov_pattern is None:
            raise ValueError(f"{fov}: fov folder given without fov_pattern")
        if num_classes is not None and num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        self.images_dir = _existing_dir(images, "images")
        self.labels_dir = None if labels is None else _existing_dir(labels, "labels")
        self.fov_dir = None if fov is None else _existing_dir(fov, "field-of-view masks")
        self.image_patterns = _patterns(image_pattern)
        self.label_patterns = _patterns(image_pattern if label_pattern is None else label_pattern)
        self.fov_patterns = _patterns(fov_pattern) if fov is not None else ()
        self.fov_from_image = fov_from_image
        #: stored pixel value -> class index (not the class set: see ``classes``)
        self.value_map = None if label_values is None else dict(label_values)
        self.label_rule = label_rule
        self.missing_label = on_missing_label
        self.num_classes = num_classes
        self.spacing = spacing
        if spacing_unit is not None:
            check_one_of(spacing_unit, SPACING_UNITS, "spacing_unit")
        self.spacing_unit = spacing_unit
        self.meta = dict(meta or {})

        id_pattern = compile_id_regex(id_regex)
        found = _find_ids(self.images_dir, self.image_patterns, id_pattern)
        if self.labels_dir is not None and _same_dir(self.images_dir, self.labels_dir):
            found = _without_labels(found, self.image_patterns, self.label_patterns, id_pattern)
        if not found:
            raise ValueError(
                f"{self.images_dir}: no image files matching {list(self.image_patterns)}"
                + (f" with {{id}} = {id_regex!r}" if id_regex != ".+" else "")
            )
        self._files: dict[str, tuple[Path, Path | None, Path | None]] = {}
        for case_id, image_path in found.items():
            label_path = None
            if self.labels_dir is not None:
                label_path = _pair(case_id, self.labels_dir, self.label_patterns)
                if label_path is None and on_missing_label == "skip":
                    continue
                if label_path is None and on_missing_label == "error":
                    raise ValueError(
                        f"{image_path}: no label file {_formatted(self.label_patterns, case_id)} "
                        f"in {self.labels_dir}"
                    )
            fov_path = None
            if self.fov_dir is not None:
                fov_path = _pair(case_id, self.fov_dir, self.fov_patterns)
                if fov_path is None:
                    raise ValueError(
                        f"{image_path}: no field-of-view mask "
                        f"{_formatted(self.fov_patterns, case_id)} in {self.fov_dir}"
                    )
            self._files[case_id] = (image_path, label_path, fov_path)
        if not self._files:
            raise ValueError(
                f"{self.images_dir}: no image has a label matching "
                f"{list(self.label_patterns)} in {self.labels_dir}"
            )
        if self.labels_dir is not None and on_missing_label == "background":
            _check_missing_labels(self.labels_dir, self.label_patterns, self._files, id_pattern)
        if label_rule == "nonzero":
            _check_lossless_labels(self._files)
        self._set_case_ids(self._files)

    def files(self, case_id: str) -> tuple[Path, Path | None, Path | None]:
        """The ``(image, label, fov)`` paths of a case (None where absent)."""
        return self._files[case_id]

    def _load(self, case_id: str) -> Case:
        image_path, label_path, fov_path = self._files[case_id]
        image = read_image_channels(image_path)
        spatial = image.shape[1:]
        label = None
        if label_path is not None and self.label_rule == "nonzero":
            mask = read_nonzero_mask_2d(label_path, "label")
            _check_shape(mask, spatial, label_path, image_path, "label")
            label = mask.astype(np.int64)
        elif label_path is not None:
            raw = read_grey_2d(label_path, "label")
            _check_shape(raw, spatial, label_path, image_path, "label")
            label = decode_label(raw, label_path, self.value_map, self.num_classes)
        elif self.labels_dir is not None and self.missing_label == "background":
            label = np.zeros(spatial, dtype=np.int64)
        fov = None
        if fov_path is not None:
            fov = read_mask_2d(fov_path)
            _check_shape(fov, spatial, fov_path, image_path, "field-of-view mask")
        elif self.fov_from_image is not None:
            fov = np.asarray(self.fov_from_image(image), dtype=bool)
        sources = tuple(p for p in (image_path, label_path, fov_path) if p is not None)
        return Case(
            case_id=case_id,
            image=image,
            label=label,
            spacing=self.spacing,
            spacing_unit=self.spacing_unit or spacing_unit_of(image_path),
            fov=fov,
            source=sources,
            meta=dict(self.meta),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.images_dir}, {len(self)} cases)"


def decode_label(
    raw: np.ndarray,
    path: str | os.PathLike,
    label_values: Mapping[int, int] | None = None,
    num_classes: int | None = None,
) -> np.ndarray:
    """Turn a stored 2D label image into int64 class indices.

    Args:
        raw: the stored values, ``(H, W)``.
        path: the file, for error messages.
        label_values: stored value -> class index; when None, {0, 255} is binary
            (255 -> 1) and anything else must be class indices below ``num_classes``
            (or :data:`MAX_AUTO_CLASSES`).
        num_classes: bound on class indices.

    Raises:
        ValueError: a value not in ``label_values``, or not a valid class index (the
            message names the file and the values found).
    """
    values = np.unique(raw)
    if label_values is not None:
        unknown = sorted(set(values.tolist()) - set(label_values))
        if unknown:
            raise ValueError(
                f"{path}: label values {_preview(unknown)} are not in label_values "
                f"{sorted(label_values)}"
            )
        label = np.zeros(raw.shape, dtype=np.int64)
        for stored, index in label_values.items():
            label[raw == stored] = index
        return label
    if set(values.tolist()) <= {0, 255} and num_classes in (None, 2):
        return (raw == 255).astype(np.int64)
    limit = MAX_AUTO_CLASSES if num_classes is None else num_classes
    integral = is_integral(values)
    if not integral or values.min() < 0 or values.max() >= limit:
        raise ValueError(
            f"{path}: label values {_preview(values.tolist())} are neither binary {{0, 255}} "
            f"nor class indices in [0, {limit}); pass label_values= to map stored values "
            "to classes"
        )
    return raw.astype(np.int64)


def check_fov_threshold(threshold: int, name: str = "fov_threshold") -> None:
    """Refuse a red-channel threshold that leaves no pixel inside (8-bit values: a pixel is
    inside when its red value is above the threshold, so it must be in [0, 254]).

    Raises:
        ValueError: naming ``name`` and the value.
    """
    integer = isinstance(threshold, numbers.Integral) and not isinstance(threshold, bool)
    if not integer or not 0 <= threshold <= 254:
        raise ValueError(
            f"{name}: {threshold!r} is not an 8-bit red value in [0, 254] (a pixel is inside "
            "the field of view when its red value is above it)"
        )


def red_channel_fov(threshold: int = 20, solid: bool = False, erosion: int = 0) -> FovFromImage:
    """A field-of-view function for fundus photographs: red channel above ``threshold``.

    The retina is bright in the red channel (vessels too: they are dark mainly in green)
    and the background outside the camera's aperture is close to black.

    Args:
        threshold: on the 8-bit red value (the image is read scaled to [0, 1]); pixels
            with red > threshold are inside the field of view.
        solid: keep the largest region only, with its holes filled, and erode it by
            ``erosion`` pixels along the aperture's edge
            (:func:`~boundaryloss.data.fov.solid_fov`).
        erosion: with ``solid``, pixels removed along the aperture's edge.

    Raises:
        ValueError: ``erosion`` without ``solid`` (a negative one: when an image is read).
    """
    if erosion and not solid:
        raise ValueError(f"erosion={erosion} needs solid=True (the edge of a solid region)")
    check_fov_threshold(threshold)
    cut = (threshold + 0.5) / 255.0

    def fov(image: np.ndarray) -> np.ndarray:
        above = image[0] > cut
        return solid_fov(above, erosion) if solid else above

    return fov


#: STARE ships no field-of-view masks, and its digitised photographs can have a noisy
#: background and dark lesions inside the retina. Its FOV is derived in the steps of the
#: masks of Soares et al.'s mlvessel (IEEE TMI 25(9), 2006: a threshold, spurious
#: regions removed, holes filled, an erosion by a radius-2 diamond): red > 20 (the
#: threshold used for CHASE_DB1 here), the largest region with its holes filled, eroded
#: by 2 pixels along the aperture's edge, whose blurred rim is neither retina nor
#: background.
STARE_FOV_THRESHOLD = 20
#: See :data:`STARE_FOV_THRESHOLD`.
STARE_FOV_EROSION = 2


# --- ready-made layouts -------------------------------------------------------------------


def drive(
    root: str | os.PathLike,
    split: Literal["training", "test"] = "training",
    observer: Literal[1, 2] = 1,
) -> ImageFolderDataset:
    """DRIVE as unpacked: ``<root>/{training,test}/{images,1st_manual,2nd_manual,mask}``.

    Images are ``NN_training.tif`` / ``NN_test.tif`` (565x584 RGB), labels
    ``1st_manual/NN_manual1.gif`` (``2nd_manual/NN_manual2.gif`` for ``observer=2``,
    test split only), masks ``mask/NN_training_mask.gif`` / ``NN_test_mask.gif``.
    Case ids are the two-digit numbers (``"21"``). The original test set ships both
    observers; a test folder without the observer's folder gives unlabelled cases
    (label None), as :class:`~boundaryloss.data.msd.DecathlonDataset` does without
    ``labelsTs``.

    Raises:
        ValueError: unknown split or observer, or as :class:`ImageFolderDataset`.
    """
    if split not in ("training", "test"):
        raise ValueError(f"DRIVE split must be 'training' or 'test', got {split!r}")
    if observer not in (1, 2):
        raise ValueError(f"DRIVE observer must be 1 or 2, got {observer!r}")
    base = Path(root) / split
    manual = "1st_manual" if observer == 1 else "2nd_manual"
    labels = base / manual
    unlabelled = split == "test" and not labels.is_dir()
    return ImageFolderDataset(
        base / "images",
        None if unlabelled else labels,
        image_pattern=f"{{id}}_{split}.tif",
        label_pattern=f"{{id}}_manual{observer}.gif",
        fov=base / "mask",
        fov_pattern=f"{{id}}_{split}_mask.gif",
        id_regex=r"\d+",
        meta={"dataset": "DRIVE", "split": split, "observer": None if unlabelled else manual},
    )


#: CHASE_DB1 ships no test split. The split many deep-learning papers use trains on the
#: first 20 of its 28 images (children 01-10) and tests on the last 8 (children 11-14);
#: :func:`chase_db1` names these ``"training"`` and ``"test"``, by the child number in
#: the file name.
CHASE_DB1_SPLITS: dict[str, str] = {
    "all": r"Image_\d+[LR]",
    "training": r"Image_(0[1-9]|10)[LR]",
    "test": r"Image_1[1-4][LR]",
}


def chase_db1(
    root: str | os.PathLike,
    observer: Literal["1stHO", "2ndHO"] = "1stHO",
    fov_threshold: int = 20,
    split: Literal["all", "training", "test"] = "all",
) -> ImageFolderDataset:
    """CHASE_DB1: ``Image_NN{L,R}.jpg`` with ``Image_NN{L,R}_1stHO.png`` / ``_2ndHO.png``.

    Reads ``<root>/images`` + ``<root>/manual`` when those folders exist, else the flat
    folder of the original archive. CHASE_DB1 has no field-of-view masks: the FOV is
    the red channel above ``fov_threshold`` (see :func:`red_channel_fov`). Case ids
    are the file stems (``"Image_01L"``).

    Args:
        split: ``"all"`` 28 images, or the conventional ``"training"`` (children 01-10,
            20 images) / ``"test"`` (children 11-14, 8 images) of
            :data:`CHASE_DB1_SPLITS`; the dataset itself defines no split.

    Raises:
        ValueError: unknown observer or split; no image of the split in the folder (a
            copy holding only children 01-10 has no test images); or as
            :class:`ImageFolderDataset`.
    """
    if observer not in ("1stHO", "2ndHO"):
        raise ValueError(f"CHASE_DB1 observer must be '1stHO' or '2ndHO', got {observer!r}")
    check_one_of(split, CHASE_DB1_SPLITS, "CHASE_DB1 split")
    root = Path(root)
    images, labels = root / "images", root / "manual"
    if not images.is_dir():
        images = labels = root
    if (
        split != "all"
        and images.is_dir()
        and not _find_ids(images, ("{id}.jpg",), re.compile(CHASE_DB1_SPLITS[split]))
    ):
        children = "11-14 (Image_11L to Image_14R)" if split == "test" else "01-10"
        raise ValueError(
            f"{images}: no CHASE_DB1 {split} images; the conventional {split} set is "
            f"children {children}, which this copy does not hold (CHASE_DB1 defines no "
            "split of its own)"
        )
    return ImageFolderDataset(
        images,
        labels,
        image_pattern="{id}.jpg",
        label_pattern=f"{{id}}_{observer}.png",
        fov_from_image=red_channel_fov(fov_threshold),
        id_regex=CHASE_DB1_SPLITS[split],
        meta={"dataset": "CHASE_DB1", "observer": observer, "split": split},
    )


def stare(
    root: str | os.PathLike,
    observer: Literal["ah", "vk"] = "ah",
    fov_threshold: int | None = STARE_FOV_THRESHOLD,
    on_missing_label: Literal["error", "skip", "unlabelled"] = "error",
) -> ImageFolderDataset:
    """STARE: ``im0001.ppm`` images with ``im0001.ah.ppm`` labels (Hoover; ``vk``: Kouznetsova).

    Images are read from ``<root>/stare-images`` or ``<root>/images`` (else ``<root>``),
    labels from ``<root>/labels-ah`` (``labels-vk``) or ``<root>/labels`` (else the
    images folder). Labels may end in ``.ppm`` or ``.pgm``, and any file may still be
    gzipped as downloaded (``im0001.ppm.gz``). STARE has no masks: the field of view is
    derived from the red channel as :data:`STARE_FOV_THRESHOLD` says (above ``fov_threshold``;
    None reads no FOV). Case ids are ``"im0001"``-style stems.
    STARE defines no test split, and papers disagree on one (leave-one-out, halves), so
    this reader offers none.

    Raises:
        ValueError: unknown observer, or as :class:`ImageFolderDataset`.
    """
    if observer not in ("ah", "vk"):
        raise ValueError(f"STARE observer must be 'ah' or 'vk', got {observer!r}")
    root = Path(root)
    images = _first_dir(root / "stare-images", root / "images", default=root)
    labels = _first_dir(root / f"labels-{observer}", root / "labels", default=images)
    fov = None
    if fov_threshold is not None:
        fov = red_channel_fov(fov_threshold, solid=True, erosion=STARE_FOV_EROSION)
    return ImageFolderDataset(
        images,
        labels,
        image_pattern=("{id}.ppm", "{id}.ppm.gz"),
        label_pattern=tuple(
            f"{{id}}.{observer}.{ext}" for ext in ("ppm", "pgm", "ppm.gz", "pgm.gz")
        ),
        fov_from_image=fov,
        id_regex=r"im\d+",
        on_missing_label=on_missing_label,
        meta={"dataset": "STARE", "observer": observer},
    )


# --- helpers ------------------------------------------------------------------------------


def _existing_dir(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"{path}: {what} folder not found")
    return path


def _first_dir(*candidates: Path, default: Path) -> Path:
    return next((path for path in candidates if path.is_dir()), default)


def _patterns(patterns: Patterns) -> tuple[str, ...]:
    result = (patterns,) if isinstance(patterns, str) else tuple(patterns)
    if not result:
        raise ValueError("file name patterns must not be empty")
    for pattern in result:
        if pattern.count("{id}") != 1 or "/" in pattern:
            raise ValueError(
                f"file name pattern {pattern!r} must contain exactly one '{{id}}' and no '/'"
            )
    return result


def compile_id_regex(id_regex: str) -> re.Pattern:
    """``id_regex`` compiled, for what ``{id}`` in a file name pattern may match.

    Raises:
        ValueError: not a regular expression, or one with a group named ``id`` (the
            reader's own name for it), naming ``id_regex``.
    """
    try:
        compiled = re.compile(id_regex)
    except re.error as error:
        raise ValueError(f"id_regex: {id_regex!r} is not a regular expression ({error})") from None
    if "id" in compiled.groupindex:
        raise ValueError(
            f"id_regex: {id_regex!r} names a group 'id', the name the reader gives {{id}}; "
            "use another name or a (?:...) group"
        )
    return compiled


def _file_regex(pattern: str, id_pattern: re.Pattern, flags: int = 0) -> re.Pattern:
    prefix, suffix = pattern.split("{id}")
    return re.compile(f"{re.escape(prefix)}(?P<id>{id_pattern.pattern}){re.escape(suffix)}", flags)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def _same_dir(a: Path, b: Path) -> bool:
    return os.path.samefile(a, b)


def _without_labels(
    found: dict[str, Path],
    image_patterns: tuple[str, ...],
    label_patterns: tuple[str, ...],
    id_pattern: re.Pattern,
) -> dict[str, Path]:
    """Images and labels in one folder: a file that is the label of another image
    (``a_mask.png`` beside ``a.png``) is not an image.

    Raises:
        ValueError: the image and label patterns are the same (an image would be its
            own label).
    """
    if set(image_patterns) & set(label_patterns):
        raise ValueError(
            f"images and labels are one folder with the same file name pattern "
            f"{sorted(set(image_patterns) & set(label_patterns))}: give label_pattern"
        )
    regexes = [_file_regex(pattern, id_pattern) for pattern in label_patterns]

    def is_a_label(path: Path) -> bool:
        matches = (regex.fullmatch(path.name) for regex in regexes)
        return any(match is not None and match["id"] in found for match in matches)

    return {case_id: path for case_id, path in found.items() if not is_a_label(path)}


def _check_missing_labels(
    folder: Path,
    patterns: tuple[str, ...],
    files: dict[str, tuple[Path, Path | None, Path | None]],
    id_pattern: re.Pattern,
) -> None:
    """With ``missing_label: background`` an image without a label file is read as
    lesion-free, so a misnamed label would silently become an all-background label.
    Refuse that when the labels folder holds a file that is evidently the image's label
    under another spelling: the expected name but for letter case or extension
    (``IDRiD_01_EX.TIF``, ``IDRiD_01_EX.png`` for ``IDRiD_01_EX.tif``) or of its id
    (``IDRiD_1_EX.tif`` for the image ``IDRiD_01``: the same id but for letter case,
    separators and leading zeros, :func:`_loose_id`); and refuse a labels folder with
    files none of which pairs with an image. Labels of ids no image has otherwise (another
    split's, sharing the folder) are left alone.

    Raises:
        ValueError: naming the image, the file found and the name expected.
    """
    images = {image.name for image, _, _ in files.values()}  # one folder for both: not labels
    names = [name for name in _names(folder) if name not in images]
    by_stem: dict[str, str] = {}
    for name in names:
        by_stem.setdefault(name.split(".")[0].casefold(), name)
    for case_id, (image, label, _) in files.items():
        if label is not None:
            continue
        for expected in (pattern.replace("{id}", case_id) for pattern in patterns):
            found = by_stem.get(expected.split(".")[0].casefold())
            if found is not None:
                raise ValueError(
                    f"{folder / found}: looks like the label of {image.name} but is not named "
                    f"{expected!r} (names must match exactly); with missing_label: background "
                    "that image would be read as lesion-free. Rename the file or add its "
                    "spelling to label_pattern"
                )
    unlabelled = {
        _loose_id(case_id): image for case_id, (image, label, _) in files.items() if label is None
    }
    regexes = [_file_regex(pattern, id_pattern) for pattern in patterns]
    for name in names if unlabelled else ():
        match = next((m for m in (r.fullmatch(name) for r in regexes) if m is not None), None)
        if match is None or match["id"] in files:
            continue
        image = unlabelled.get(_loose_id(match["id"]))
        if image is not None:
            raise ValueError(
                f"{folder / name}: looks like the label of {image.name} but its id is "
                f"{match['id']!r}, not the image's (names must match exactly); with "
                "missing_label: background that image would be read as lesion-free. Rename "
                "the file"
            )
    if names and all(label is None for _, label, _ in files.values()):
        raise ValueError(
            f"{folder}: none of its {len(names)} file(s) ({_listed(names, 3)}) is the label of "
            f"an image (expected names like {_formatted(patterns, next(iter(files)))}); with "
            "missing_label: background every image would be read as lesion-free"
        )


def _loose_id(case_id: str) -> str:
    """An id compared loosely: letter case, separators and leading zeros of numbers
    ignored (``IDRiD_1`` and ``idrid-01`` are one)."""
    parts = re.findall(r"[^\W_]+", case_id.casefold())
    return "_".join(re.sub(r"\d+", lambda number: str(int(number[0])), part) for part in parts)


#: Lossy formats: their compression leaves small non-zero values around every edge.
LOSSY_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif")


def _check_lossless_labels(files: dict[str, tuple[Path, Path | None, Path | None]]) -> None:
    """Refuse JPEG label files under ``label_rule: nonzero``: every compression artefact
    around a mask's edges (and in a mask stored as image times mask) would be read as
    lesion, silently.

    Raises:
        ValueError: naming the first such file.
    """
    for _, label, _ in files.values():
        if label is not None and label.name.lower().endswith(LOSSY_SUFFIXES):
            raise ValueError(
                f"{label}: a JPEG label; its lossy compression leaves non-zero pixels around "
                "every edge, which label_rule: nonzero would read as lesion. Store the masks "
                "losslessly (PNG or TIFF)"
            )


def _listed(names: Sequence[str], limit: int = 5) -> str:
    """``'a', 'b' and 3 more``."""
    shown = ", ".join(repr(name) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _find_ids(folder: Path, patterns: tuple[str, ...], id_pattern: re.Pattern) -> dict[str, Path]:
    """Map each id to its image file; the first pattern that matches an id wins."""
    names = _names(folder)
    found: dict[str, Path] = {}
    for pattern in patterns:
        regex = _file_regex(pattern, id_pattern)
        for name in names:
            match = regex.fullmatch(name)
            if match and match["id"] not in found and (folder / name).is_file():
                found[match["id"]] = folder / name
    return found


def _pair(case_id: str, folder: Path, patterns: tuple[str, ...]) -> Path | None:
    for pattern in patterns:
        path = folder / pattern.replace("{id}", case_id)
        if path.is_file():
            return path
    return None


def _formatted(patterns: tuple[str, ...], case_id: str) -> str:
    return " or ".join(repr(p.replace("{id}", case_id)) for p in patterns)


def _check_shape(raw: np.ndarray, spatial: tuple, path: Path, image_path: Path, what: str):
    if raw.shape != tuple(spatial):
        raise ValueError(
            f"{path}: {what} shape {raw.shape} does not match image {image_path} "
            f"shape {tuple(spatial)}"
        )


def _preview(values: Sequence, limit: int = 8) -> str:
    values = list(values)
    shown = ", ".join(str(v) for v in values[:limit])
    return f"{{{shown}{', ...' if len(values) > limit else ''}}} ({len(values)} distinct)"
