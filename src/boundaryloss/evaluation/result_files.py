"""What ``evaluate`` and ``evaluate-folder`` write: a per-case CSV and its summary JSON.

Both summaries state the facts the two commands share with the same keys, written by
:func:`evaluation_summary`:

- ``written_by`` (the command), ``version`` (of boundaryloss);
- ``num_cases``; ``spacing_unit``: the unit of every distance (``hd``, ``hd95``,
  ``assd``) and of the NSD tolerance, ``"mm"`` (NIfTI headers) or ``"px"`` (2D image
  files and synthetic data, which carry no physical size);
- ``fov``: ``{"applied": bool, "num_cases": int}``, how many cases were scored inside a
  field of view;
- ``missing``, ``empty``: the empty-mask options (:mod:`boundaryloss.metrics._empty`);
- ``lesion``: ``None`` or the lesion options ``{"connectivity", "match", "f1"}``;
  ``volume_difference``: the absolute volume difference column (``"avd_ml"``,
  ``"avd_voxels"``) or ``None``;
- ``confidence``, ``metrics`` (per metric and class: mean, bootstrap CI, ...),
  ``pixel_level`` (scores of the pooled counts);
- ``cases``: ``{"file": NAME, "sha256": HEX, "replaces": HEX}``, the CSV this summary
  belongs to and the checksum of the CSV it replaced there (absent when there was none;
  :func:`write_evaluation`; :func:`matches_cases` and :func:`replaced_cases` check it);
- ``companions``: ``{NAME: HEX}``, the checksum of every other file of the evaluation
  (``lesions.csv``; :func:`matches_companion` checks it).

Each command adds its own keys after ``version`` (``evaluate``: the checkpoint, its
epoch, the split, the data root, test-time mirroring; ``evaluate-folder``: the folders
and labels). The JSON is strict:
``inf`` and ``nan`` are written as the strings ``"inf"``, ``"-inf"`` and ``"nan"``.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .._files import write_texts_atomically
from ..metrics import LesionOptions, SegmentationEvaluator
from .lesion_file import LesionList
from .pixel_level import PixelLevel

#: Level of the bootstrap confidence intervals of the means in the summaries.
CONFIDENCE = 0.95


def evaluation_summary(
    written_by: str,
    details: dict[str, Any],
    *,
    num_cases: int,
    spacing_unit: str,
    fov_cases: int,
    missing: str,
    empty: str,
    lesion: bool | LesionOptions,
    volume_difference: str | None,
    evaluator: SegmentationEvaluator,
    pixels: PixelLevel,
) -> dict[str, Any]:
    """The summary of an evaluation: the shared keys (module docstring) around ``details``.

    Args:
        written_by: the command, e.g. ``"boundaryloss evaluate"``.
        details: the command's own keys, placed after ``written_by`` and ``version``.
        num_cases: cases scored.
        spacing_unit: ``"mm"`` or ``"px"``.
        fov_cases: how many of them were scored inside a field of view.
        missing, empty: the evaluator's empty-mask options.
        lesion: ``False`` or the lesion options (``True``: the defaults).
        volume_difference: the absolute volume difference column, or ``None``.
        evaluator, pixels: the per-image and pooled aggregates.

    Returns:
        The summary; ``cases`` is added when it is written (:func:`write_evaluation`).
    """
    return {
        "written_by": written_by,
        "version": __version__,
        **details,
        "num_cases": num_cases,
        "spacing_unit": spacing_unit,
        "fov": {"applied": fov_cases > 0, "num_cases": fov_cases},
        "missing": missing,
        "empty": empty,
        "lesion": lesion_summary(lesion),
        "volume_difference": volume_difference,
        "confidence": CONFIDENCE,
        "metrics": evaluator.summary(confidence=CONFIDENCE),
        "pixel_level": pixels.summary(),
    }


def lesion_summary(lesion: bool | LesionOptions) -> dict[str, Any] | None:
    """``None`` without lesion metrics, else the options lesions were found with."""
    if lesion is False:
        return None
    options = lesion if isinstance(lesion, LesionOptions) else LesionOptions()
    return {
        "connectivity": options.connectivity or "full (8 in 2D, 26 in 3D)",
        "match": options.match,
        "f1": options.f1,
    }


def checksum(text: str) -> str:
    """SHA-256 (hex) of ``text`` as written: UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_evaluation(
    cases_path: Path,
    cases_text: str,
    summary_path: Path,
    summary: dict[str, Any],
    extra: dict[Path, str] | None = None,
) -> list[Path]:
    """Write the per-case CSV and its summary as a pair (with ``extra`` files beside).

    The summary records the CSV's name and checksum (``cases``, added to ``summary``),
    the checksum of the CSV it replaces, and those of the ``extra`` files
    (``companions``). Every file is written to a temporary and renamed only once all are
    written, so a failure (a full disk) leaves the previous files as they were. The
    summary is renamed first: a process killed between two renames leaves a summary
    that records the files it belongs to beside older ones, which the checksums tell
    (:func:`matches_cases`, :func:`matches_companion`), and the CSV it was replacing
    still recognisable as this command's (:func:`replaced_cases`).

    Args:
        extra: more files of the same evaluation, path -> text (``lesions.csv``).

    Returns:
        ``[cases_path, summary_path, *extra]``.

    Raises:
        OSError: naming the file that could not be written.
    """
    record: dict[str, Any] = {"file": cases_path.name, "sha256": checksum(cases_text)}
    previous = _file_checksum(cases_path)
    if previous is not None:
        record["replaces"] = previous
    summary["cases"] = record
    summary["companions"] = {path.name: checksum(text) for path, text in (extra or {}).items()}
    texts = {summary_path: json_text(summary), cases_path: cases_text, **(extra or {})}
    write_texts_atomically(texts)
    return [cases_path, summary_path, *(extra or {})]


def _file_checksum(path: Path) -> str | None:
    """SHA-256 (hex) of a regular file's bytes, or None when there is none to read."""
    if path.is_symlink() or not path.is_file():
        return None
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def matches_cases(summary: dict[str, Any], cases_path: Path) -> bool:
    """Whether ``summary`` belongs to the CSV at ``cases_path``.

    False when the summary records another checksum (a pair broken by a process killed
    between the two renames, or a CSV edited since); True when it records this one, or
    nothing (a summary written before the checksum was).
    """
    record = summary.get("cases")
    if not isinstance(record, dict) or "sha256" not in record:
        return True
    return _file_checksum(cases_path) == record["sha256"]


def replaced_cases(summary: dict[str, Any], cases_path: Path) -> bool:
    """Whether the CSV at ``cases_path`` is the one ``summary``'s evaluation replaced:
    left there by a process killed between the renames of the summary and the CSV."""
    record = summary.get("cases")
    if not isinstance(record, dict) or "replaces" not in record:
        return False
    return _file_checksum(cases_path) == record["replaces"]


def matches_companion(summary: dict[str, Any], path: Path) -> bool:
    """Whether the file at ``path`` (``lesions.csv``) is the one written with
    ``summary``: False when the summary records another checksum or none for this name
    (an older file beside a newer pair); True when it records this one, or when the
    summary predates the record (``companions`` absent)."""
    companions = summary.get("companions")
    if not isinstance(companions, dict):
        return True
    return path.name in companions and _file_checksum(path) == companions[path.name]


def json_text(value: Any) -> str:
    """Strict JSON (indented, one trailing newline) with ``inf``/``nan`` as strings."""
    return json.dumps(_json_safe(value), indent=2, default=str) + "\n"


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def screening_summary(
    evaluator: SegmentationEvaluator, lesions: LesionList, classes: tuple[int, ...]
) -> dict[int, dict[str, float | int]]:
    """Per class, what a screening reader asks first (:mod:`boundaryloss.metrics.screening`):
    the lesions pooled over every case (lesion recall, precision and F1, false-positive
    lesions per lesion-free case, with their counts) and the means over the cases whose
    reference holds the class (NaN when none does): Dice (``dice_lesion_cases``) and,
    when evaluated, WMH's absolute volume difference in % (``avd_percent_lesion_cases``,
    as validation's ``val_avd_percent``), beside the all-cases means of ``metrics`` (where
    a lesion-free case with a false positive has an AVD of inf)."""
    rows = evaluator.rows()
    cases = list(dict.fromkeys(str(row["case"]) for row in rows))
    out: dict[int, dict[str, float | int]] = {}
    for cls in classes:
        with_class = [row for row in rows if int(row["class"]) == cls and row["ref_voxels"] > 0]
        dice = [float(row["dice"]) for row in with_class if "dice" in row]
        out[cls] = {
            "dice_lesion_cases": float(np.mean(dice)) if dice else float("nan"),
            "lesion_cases": len(dice),
            **lesions.tally(cases, cls).as_dict(),
        }
        if any("avd_percent" in row for row in rows):
            avd = [float(row["avd_percent"]) for row in with_class]
            out[cls]["avd_percent_lesion_cases"] = float(np.mean(avd)) if avd else float("nan")
    return out
