"""Validation during training: whole cases, 3D Dice and HD95 per class (in the unit of
the cases' spacing, mm or px), scored inside each case's field of view as
``boundaryloss evaluate`` scores it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..data.fov import restrict_case_to_fov
from ..data.slicing import most_foreground_slice
from ..metrics import SegmentationEvaluator
from .figures import overlay
from .inference import NonFiniteOutput


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
    DRIVE, STARE, CHASE_DB1, prepared retinal datasets) is scored inside it, by the
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

    Args:
        num_classes: classes of the segmentation (background included).
        predict: ``(model, image (C, *spatial)) -> probabilities (K, *spatial)``.
        slice_axis: the axis figures of 3D cases are sliced along.
        keep: how many cases to keep as :class:`Example` for figures.

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
    ) -> None:
        self.num_classes = num_classes
        self.predict = predict
        self.slice_axis = slice_axis
        self.keep = keep
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
            evaluator.update(
                sample["case_id"],
                *restrict_case_to_fov(prediction, label, fov, sample["case_id"]),
                spacing=tuple(sample["spacing"].tolist()),
            )
            if len(self.examples) < self.keep:
                self.examples.append(
                    Example(sample["case_id"], sample["image"].numpy(), label, prediction)
                )
        model.train()
        self.evaluator = evaluator
        return self.row(evaluator)

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
