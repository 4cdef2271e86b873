"""The gradient-sign diagnostic of the region-wise paper (Valverde & Tohka, sec. 3.4, fig. 3).

For the region-wise loss ``L = mean(softmax(z) * W)`` the gradient with respect to the
logits of one pixel is ``dL/dz_k ∝ p_k (W_k - sum_j p_j W_j)``. The paper's stability
principle asks for exactly one negative component per pixel (the true class's), so
that gradient descent raises only the true class. Rectified region-wise (RRW) maps
guarantee it; boundary (signed distance) maps do not when there are three or more
classes. With two classes every map with ``W_0 != W_1`` gives one negative and one
positive component, so the share is 0 for both maps: the diagnostic only separates
them on multi-class data.

Convention: a component counts as negative below ``-1e-9`` times the largest
``|dL/dz|`` of the batch (float64), so rounding noise of saturated softmax outputs does
not count; the share is over all pixels of the diagnosed validation slices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .._validation import check_one_of
from ..data.slicing import most_foreground_slice
from ..evaluation.predict import Predictor
from ..losses import RegionWiseLoss, region_wise_loss
from ..training.data import make_preprocess
from .config import Experiment
from .runner import snapshot_path

MAPS = ("boundary", "rrw")
_TOLERANCE = 1e-9


def region_wise_map(kind: str, labels: np.ndarray, num_classes: int, spacing) -> np.ndarray:
    """``(B, C, H, W)`` map of ``kind`` (``"boundary"`` or ``"rrw"``) for labels ``(B, H, W)``:
    the map the region-wise loss with ``map=kind`` declares, every channel computed
    (:func:`negative_share` reads them all, whatever classes a loss would select)."""
    spec = RegionWiseLoss(map=check_one_of(kind, MAPS, "map")).map_requirement()
    return spec.with_classes(True, None).compute(labels, num_classes, spacing, batch=True)


def negative_share(logits: torch.Tensor, weights: torch.Tensor) -> tuple[int, int]:
    """Pixels whose logit gradient of ``mean(softmax * W)`` has >= 2 negative components.

    Args:
        logits: ``(B, C, *spatial)``.
        weights: the region-wise map ``W``, same shape.

    Returns:
        ``(pixels with two or more negative components, all pixels)``.
    """
    z = logits.detach().to(torch.float64).requires_grad_(True)
    w = weights.to(torch.float64)
    target = torch.zeros((z.shape[0], *z.shape[2:]), dtype=torch.long)  # unused with rw_map
    loss = region_wise_loss(z, target, w, activation="softmax", reduction="mean")
    (grad,) = torch.autograd.grad(loss, z)
    tolerance = _TOLERANCE * float(grad.abs().max())
    negatives = (grad < -tolerance).sum(dim=1)
    return int((negatives >= 2).sum()), int(negatives.numel())


def diagnostic_slices(
    cases: Sequence, config, max_slices: int
) -> list[tuple[np.ndarray, np.ndarray, tuple[float, ...]]]:
    """Preprocessed 2D ``(image (C, H, W), label (H, W), spacing)`` validation slices.

    2D cases are used whole; of a 3D case the slice with most foreground along
    ``data.slice_axis`` is taken. At most ``max_slices``, in case order.
    """
    preprocess = make_preprocess(config.data)
    axis = config.data.slice_axis
    slices = []
    for i in range(len(cases)):
        if len(slices) >= max_slices:
            break
        case = preprocess(cases[i])
        image, label, spacing = case.image, np.asarray(case.label), tuple(case.spacing)
        if label.ndim == 3:
            index = most_foreground_slice(label, axis)
            image = np.take(image, index, axis=axis + 1)
            label = np.take(label, index, axis=axis)
            spacing = tuple(s for a, s in enumerate(spacing) if a != axis)
        slices.append((np.asarray(image, np.float32), label.astype(np.int64), spacing))
    return slices


@torch.no_grad()
def _logits(model: torch.nn.Module, images: np.ndarray) -> torch.Tensor:
    return model(torch.from_numpy(images)).float()


def diagnose_checkpoint(
    path, slices: Sequence[tuple[np.ndarray, np.ndarray, tuple[float, ...]]]
) -> dict[str, tuple[int, int]]:
    """``{map kind: (pixels with >= 2 negative components, pixels)}`` for one model."""
    predictor = Predictor.from_checkpoint(path)
    num_classes = predictor.config.data.num_classes
    counts = {kind: [0, 0] for kind in MAPS}
    for image, label, spacing in slices:
        logits = _logits(predictor.model, image[None])
        for kind in MAPS:
            weights = region_wise_map(kind, label[None], num_classes, spacing)
            bad, total = negative_share(logits, torch.from_numpy(np.asarray(weights)))
            counts[kind][0] += bad
            counts[kind][1] += total
    return {kind: (bad, total) for kind, (bad, total) in counts.items()}


def gradient_sign_diagnostic(experiment: Experiment, cases: Sequence) -> list[dict[str, Any]]:
    """Rows ``{loss, epoch, map, share, pixels}`` for the first seed of every loss.

    Models come from the snapshots kept at :attr:`Experiment.snapshot_epochs`. Only 2D
    networks are diagnosed (an empty list otherwise).
    """
    first = experiment.runs[0].config
    if first.model.spatial_dims != 2 or not experiment.snapshot_epochs:
        return []
    slices = diagnostic_slices(cases, first, experiment.config.diagnostics.max_slices)
    rows = []
    for loss in experiment.loss_names:
        run = experiment.runs_of(loss)[0]
        for epoch in experiment.snapshot_epochs:
            path = snapshot_path(run.run_dir, epoch)
            if not path.is_file():
                raise FileNotFoundError(
                    f"{path}: no model saved at epoch {epoch}; the run was trained without "
                    "this diagnostic epoch (retrain it with --no-resume)"
                )
            for kind, (bad, total) in diagnose_checkpoint(path, slices).items():
                rows.append(
                    {
                        "loss": loss,
                        "epoch": epoch,
                        "map": kind,
                        "share": bad / total if total else float("nan"),
                        "pixels": total,
                    }
                )
    return rows
