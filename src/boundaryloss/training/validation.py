"""Validation during training: whole cases, 3D Dice and HD95 per class (in the unit of
the cases' spacing, mm or px), scored inside each case's field of view as
``boundaryloss evaluate`` scores it, plus the dataset-level scores of unbalanced data
(pooled Dice, AUPR, pooled lesion detection) that can select the best checkpoint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..data.fov import restrict_case_to_fov
from ..data.slicing import most_foreground_slice
from ..evaluation.inference import NonFiniteOutput
from ..evaluation.pixel_level import PixelLevel
from ..metrics import SegmentationEvaluator
from ..metrics.lesion import volume_difference
from ..metrics.precision_recall import binary_average_precision
from ..metrics.screening import LesionTally
from .figures import overlay

#: ``train.selection_metric`` -> the validation row's column that selects the best
#: checkpoint (a mean over the foreground classes the labels contain).
SELECTION_COLUMNS = {
    "dice": "val_dice_mean",
    "pooled_dice": "val_pooled_dice_mean",
    "aupr": "val_aupr_mean",
    "lesion_f1": "val_lesion_f1_mean",
}
#: How each selection metric is named in messages.
SELECTION_NAMES = {
    "dice": "Dice",
    "pooled_dice": "pooled Dice",
    "aupr": "AUPR",
    "lesion_f1": "lesion F1",
}


def best_score_line(summary: dict, where: str = "") -> str:
    """``best validation Dice 0.8123{where} at epoch 7`` for a run's summary (its
    selection metric, e.g. ``AUPR``; ``where`` such as " (inside the field of view)")."""
    metric = summary.get("selection_metric", "dice")
    score = summary.get("best_val_score", summary.get("best_val_dice_mean"))
    epoch = summary.get("best_epoch")
    at = f" at epoch {epoch}" if epoch is not None else ""
    return f"best validation {SELECTION_NAMES[metric]} {score:.4f}{where}{at}"


@dataclass(frozen=True)
class Example:
    """One validated case kept for the overlay figures: image ``(C, *spatial)``, label
    and prediction ``(*spatial)``."""

    case_id: str
    image: np.ndarray
    label: np.ndarray
    prediction: np.ndarray


class Validator:
    """Segment the validation cases whole and measure them.

    ``predict(model, image)`` gives the probabilities ``(K, *spatial)`` of a whole case
    (e.g. the run's inference settings: slice by slice for 2D networks on volumes,
    sliding windows, mirroring). A missed structure counts as the image diagonal
    (``missing="diagonal"``). A case with a field of view (a ``"fov"`` in its sample:
    DRIVE, STARE, CHASE_DB1, IDRiD, prepared retinal datasets) is scored inside it, by the
    rule ``boundaryloss evaluate`` uses (:func:`~boundaryloss.data.fov.
    restrict_case_to_fov`); the row's ``val_fov_cases`` says how many cases were.

    Convention (the selection metric, ``val_dice_mean``, which picks ``best.pt``):
        The per-class columns ``val_dice/K`` and ``val_hd95/K`` follow the metrics'
        empty-mask rule: a class absent from both the reference and the prediction of a
        case scores Dice 1 and HD95 0 there. ``val_dice_mean`` does not count such a
        case as a perfect score: it is the mean over classes of each class's mean Dice
        over the cases where the class is in the reference or the prediction (the
        both-empty cases are left out, and counted in ``val_both_empty``). A class in
        no validation reference is left out of the mean (its Dice would be 1 when never
        predicted and 0 otherwise) and listed in :attr:`unreferenced`. NaN when no
        class is left.

    Beside the per-case mean Dice (``val_dice/K``), every validation also gives scores
    that a class of a fraction of a percent needs (its per-case Dice is noisy and
    dominated by lesion-free cases): ``val_pooled_dice/K`` (Dice of the counts summed
    over all cases' pixels) and ``val_dice_lesion_cases/K`` (mean Dice over the cases
    whose reference has the class). With ``aupr``: ``val_aupr/K``, the area under the
    precision-recall curve of the class probability over every pixel of every case
    (inside its field of view when it has one)
    (:func:`~boundaryloss.metrics.binary_average_precision`; it holds each pixel's
    probability until the end, 4 bytes per pixel and class). With ``lesion``:
    ``val_lesion_f1/K``, ``val_lesion_recall/K``, ``val_lesion_precision/K`` (pooled over
    the cases' lesions), ``val_false_lesions_per_free_case/K`` (see
    :mod:`boundaryloss.metrics.screening`) and ``val_avd_percent/K``, the WMH challenge's
    absolute volume difference ``100 |n(pred) - n(ref)| / n(ref)`` (voxel counts inside
    the field of view) averaged over the cases whose reference has the class. Each has a
    ``_mean`` over the classes some validation reference contains.

    Args:
        num_classes: classes of the segmentation (background included).
        predict: ``(model, image (C, *spatial)) -> probabilities (K, *spatial)``.
        slice_axis: the axis figures of 3D cases are sliced along.
        keep: how many cases to keep as :class:`Example` for figures.
        aupr: also compute the pooled AUPR per class.
        lesion: also score lesion-wise detection (connected components).

    Raises:
        NonFiniteOutput: (when called) the network output for a validation case is NaN
            or infinite (naming the case).
    """

    def __init__(
        self,
        num_classes: int,
        predict: Callable[[nn.Module, torch.Tensor], torch.Tensor],
        slice_axis: int,
        keep: int = 3,
        aupr: bool = False,
        lesion: bool = False,
    ) -> None:
        self.num_classes = num_classes
        self.predict = predict
        self.slice_axis = slice_axis
        self.keep = keep
        self.aupr = aupr
        self.lesion = lesion
        self.examples: list[Example] = []
        self.evaluator: SegmentationEvaluator | None = None
        #: Cases of the last validation scored inside their field of view.
        self.fov_cases = 0
        #: Foreground classes in no reference of the last validation (not in the mean).
        self.unreferenced: tuple[int, ...] = ()
        #: Foreground classes averaged into the last validation's ``val_dice_mean``.
        self.selected: tuple[int, ...] = ()

    def __call__(self, model: nn.Module, dataset, device: torch.device) -> dict[str, float]:
        """``val_dice/K``, ``val_hd95/K`` per foreground class, ``val_dice_mean``,
        ``val_both_empty`` (the (case, class) pairs left out of it) and
        ``val_fov_cases`` (how many cases were scored inside their field of view)."""
        model.eval()
        evaluator = SegmentationEvaluator(
            metrics=("dice", "hd95"),
            num_classes=self.num_classes,
            hd_mode="max",
            missing="diagonal",
            empty="perfect",
        )
        self.examples = []
        self.fov_cases = 0
        classes = range(1, self.num_classes)
        pooled = PixelLevel(classes)
        scores: dict[int, list[np.ndarray]] = {c: [] for c in classes}
        truths: dict[int, list[np.ndarray]] = {c: [] for c in classes}
        tallies = {c: LesionTally() for c in classes} if self.lesion else {}
        lesion_case_dice: dict[int, list[float]] = {c: [] for c in classes}
        volume_differences: dict[int, list[float]] = {c: [] for c in classes}
        for i in range(len(dataset)):
            sample = dataset[i]
            image = sample["image"].to(device)
            try:
                probabilities = self.predict(model, image)
            except NonFiniteOutput as error:
                raise NonFiniteOutput(f"validation case {sample['case_id']}: {error}") from None
            prediction = probabilities.argmax(0).cpu().numpy()
            label = sample["label"].numpy()
            fov = sample["fov"].numpy() if "fov" in sample else None
            self.fov_cases += int(fov is not None)
            scored_pred, scored_label = restrict_case_to_fov(
                prediction, label, fov, sample["case_id"]
            )
            case_scores = evaluator.update(
                sample["case_id"],
                scored_pred,
                scored_label,
                spacing=tuple(sample["spacing"].tolist()),
            )
            pooled.update(prediction, label, fov)
            inside = slice(None) if fov is None else fov
            for cls in classes:
                if self.aupr:
                    scores[cls].append(probabilities[cls].cpu().numpy()[inside].ravel())
                    truths[cls].append((label[inside] == cls).ravel())
                if np.any(scored_label == cls):
                    lesion_case_dice[cls].append(float(case_scores[cls]["dice"]))
                if self.lesion:
                    tallies[cls].update(scored_pred == cls, scored_label == cls)
                    if np.any(scored_label == cls):
                        volume_differences[cls].append(
                            volume_difference(
                                scored_pred == cls, scored_label == cls, (), "percent", "perfect"
                            )
                        )
            if len(self.examples) < self.keep:
                self.examples.append(
                    Example(sample["case_id"], sample["image"].numpy(), label, prediction)
                )
        model.train()
        self.evaluator = evaluator
        row = self.row(evaluator)
        pooled_scores = pooled.summary()
        for cls in classes:
            row[f"val_pooled_dice/{cls}"] = float(pooled_scores[cls]["dice"])
            if self.aupr:
                row[f"val_aupr/{cls}"] = binary_average_precision(
                    np.concatenate(scores[cls]), np.concatenate(truths[cls])
                )
            dice = lesion_case_dice[cls]
            row[f"val_dice_lesion_cases/{cls}"] = float(np.mean(dice)) if dice else float("nan")
            if self.lesion:
                tally = tallies[cls]
                row[f"val_lesion_f1/{cls}"] = tally.f1()
                row[f"val_lesion_recall/{cls}"] = tally.recall()
                row[f"val_lesion_precision/{cls}"] = tally.precision()
                row[f"val_false_lesions_per_free_case/{cls}"] = tally.false_lesions_per_free_case()
                differences = volume_differences[cls]
                row[f"val_avd_percent/{cls}"] = (
                    float(np.mean(differences)) if differences else float("nan")
                )
        names = ["pooled_dice", "dice_lesion_cases"] + (["aupr"] if self.aupr else [])
        if self.lesion:
            names += ["lesion_f1", "lesion_recall", "lesion_precision", "avd_percent"]
        for name in names:
            row[f"val_{name}_mean"] = self._class_mean(row, name)
        return row

    def _class_mean(self, row: dict[str, float], name: str) -> float:
        """Mean of ``val_NAME/K`` over the classes some validation reference contains
        (:attr:`selected`; NaN values, e.g. a recall without reference lesions, left out)."""
        values = [
            row[f"val_{name}/{cls}"]
            for cls in self.selected
            if not np.isnan(row[f"val_{name}/{cls}"])
        ]
        return float(np.mean(values)) if values else float("nan")

    def row(self, evaluator: SegmentationEvaluator) -> dict[str, float]:
        """The epoch row's validation columns from a filled evaluator (see the class's
        convention); sets :attr:`unreferenced` and :attr:`selected`."""
        summary = evaluator.summary()
        row: dict[str, float] = {}
        for metric in ("dice", "hd95"):
            for cls, stats in summary[metric].items():
                row[f"val_{metric}/{cls}"] = float(stats["mean"])
        cases = evaluator.rows()
        referenced = {int(case["class"]) for case in cases if case["ref_voxels"] > 0}
        classes = sorted(int(cls) for cls in summary["dice"])
        self.unreferenced = tuple(c for c in classes if c not in referenced)
        self.selected = tuple(c for c in classes if c in referenced)
        scored: dict[int, list[float]] = {c: [] for c in self.selected}
        both_empty = 0
        for case in (case for case in cases if int(case["class"]) in referenced):
            if case["status"] == "both_empty":
                both_empty += 1
            else:
                scored[int(case["class"])].append(float(case["dice"]))
        means = [float(np.mean(scored[c])) for c in self.selected]
        row["val_dice_mean"] = float(np.mean(means)) if means else float("nan")
        row["val_both_empty"] = both_empty
        row["val_fov_cases"] = self.fov_cases
        return row

    def draw_examples(self, folder) -> None:
        """``overlay_CASE.png`` of the kept examples (3D: the slice with most foreground)."""
        for example in self.examples:
            image, label, prediction = example.image, example.label, example.prediction
            if label.ndim == 3:
                index = most_foreground_slice(label, self.slice_axis)
                axis = self.slice_axis
                image = np.take(image, index, axis=axis + 1)
                label = np.take(label, index, axis=axis)
                prediction = np.take(prediction, index, axis=axis)
            overlay(
                image,
                label,
                prediction,
                folder / f"overlay_{example.case_id}.png",
                title=example.case_id,
            )
