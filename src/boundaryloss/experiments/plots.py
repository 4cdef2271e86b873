"""The comparison figures (PNG, written atomically): one function per figure."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..training.figures import pyplot, save_figure
from .convergence import convergence_cdf, last_epoch_scores, mean_curve, with_mean_hd95
from .results import RunResult


def _colors(losses: Sequence[str]) -> dict[str, Any]:
    cmap = pyplot().get_cmap("tab10")
    return {loss: cmap(i % 10) for i, loss in enumerate(losses)}


def _by_loss(results: Sequence[RunResult], losses: Sequence[str]) -> dict[str, list[RunResult]]:
    return {loss: [r for r in results if r.loss == loss] for loss in losses}


def learning_curves(
    results: Sequence[RunResult], losses: Sequence[str], path: str | os.PathLike, unit: str
) -> None:
    """Validation Dice and HD95 per epoch for every loss: mean over seeds, min-max band.

    HD95 here is the training-time validation value, where a missed structure counts as
    the image diagonal; ``unit`` (``"mm"`` or ``"px"``) is the unit of both.
    """
    plt = pyplot()
    colors = _colors(losses)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    panels = (
        ("val_dice_mean", "validation Dice (mean over classes)"),
        ("val_hd95_mean", f"validation HD95 ({unit}; miss = image diagonal)"),
    )
    for ax, (key, title) in zip(axes, panels, strict=True):
        for loss, runs in _by_loss(results, losses).items():
            epochs, mean, low, high = mean_curve([with_mean_hd95(r.history) for r in runs], key)
            if epochs.size == 0:
                continue
            ax.plot(epochs, mean, color=colors[loss], label=f"{loss} (n={len(runs)})")
            if len(runs) > 1:
                ax.fill_between(epochs, low, high, color=colors[loss], alpha=0.2)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    save_figure(fig, path)


def stability(
    results: Sequence[RunResult], losses: Sequence[str], last: int, path: str | os.PathLike
) -> None:
    """Validation Dice over the last ``last`` epochs of every seed: a box per loss, one
    dot per (seed, epoch), coloured by seed."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(losses), 4))
    groups = _by_loss(results, losses)
    data = [
        [v for r in groups[loss] for v in last_epoch_scores(r.history, last)] for loss in losses
    ]
    ax.boxplot(data, showfliers=False)
    ax.set_xticks(range(1, len(losses) + 1), losses)
    rng = np.random.default_rng(0)
    seed_colors = plt.get_cmap("Dark2")
    for i, loss in enumerate(losses, start=1):
        for r in groups[loss]:
            values = last_epoch_scores(r.history, last)
            x = i + rng.uniform(-0.15, 0.15, size=len(values))
            ax.scatter(x, values, s=12, color=seed_colors(r.seed % 8), zorder=3)
    ax.set_ylabel(f"validation Dice, last {last} epochs")
    ax.set_title("training stability (dots: seeds x epochs)")
    ax.grid(alpha=0.3, axis="y")
    save_figure(fig, path)


def convergence(
    epochs_by_loss: dict[str, list[int | None]], total_epochs: int, path: str | os.PathLike
) -> None:
    """Empirical CDF over seeds of the convergence epoch, one step curve per loss."""
    plt = pyplot()
    colors = _colors(list(epochs_by_loss))
    fig, ax = plt.subplots(figsize=(6, 4))
    for loss, epochs in epochs_by_loss.items():
        grid, share = convergence_cdf(epochs, total_epochs)
        never = sum(e is None for e in epochs)
        label = f"{loss} ({never}/{len(epochs)} never)" if never else loss
        ax.step(grid, share, where="post", color=colors[loss], label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("share of seeds converged")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def gradient_sign(rows: Sequence[dict[str, Any]], path: str | os.PathLike) -> None:
    """Share of pixels with >= 2 negative logit-gradient components over training."""
    plt = pyplot()
    losses = list(dict.fromkeys(row["loss"] for row in rows))
    colors = _colors(losses)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for loss in losses:
        for kind, style in (("boundary", "-"), ("rrw", "--")):
            points = [
                (r["epoch"], 100 * r["share"])
                for r in rows
                if r["loss"] == loss and r["map"] == kind
            ]
            if points:
                x, y = zip(*points, strict=True)
                ax.plot(x, y, style, marker="o", color=colors[loss], label=f"{loss}, {kind} map")
    ax.set_xlabel("epoch (model of the loss's first seed)")
    ax.set_ylabel("pixels with >= 2 negative components (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    save_figure(fig, path)


def _tint(image: np.ndarray, reference: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """Grey image with hits green, false positives red, misses blue."""
    grey = image[0] if image.ndim == 3 else image
    grey = (grey - grey.min()) / (np.ptp(grey) or 1.0)
    rgb = np.repeat(grey[..., None], 3, axis=-1) * 0.7
    ref, pred = reference > 0, prediction > 0
    rgb[ref & pred] = (0.1, 0.85, 0.1)
    rgb[~ref & pred] = (0.95, 0.1, 0.1)
    rgb[ref & ~pred] = (0.2, 0.45, 1.0)
    return rgb


def overlays(
    panels: Sequence[tuple[str, np.ndarray, np.ndarray, dict[str, np.ndarray]]],
    path: str | os.PathLike,
) -> None:
    """Rows of ``image | reference | one prediction per loss`` for 2D slices.

    Args:
        panels: ``(case id, image (C, H, W) or (H, W), reference (H, W),
            {loss: prediction (H, W)})`` per row.
    """
    plt = pyplot()
    losses = list(panels[0][3])
    cols = 2 + len(losses)
    fig, axes = plt.subplots(
        len(panels), cols, figsize=(2.6 * cols, 2.7 * len(panels)), squeeze=False
    )
    for row, (case_id, image, reference, predictions) in zip(axes, panels, strict=True):
        grey = image[0] if image.ndim == 3 else image
        row[0].imshow(grey, cmap="gray")
        row[0].set_title(case_id, fontsize=8)
        row[1].imshow(_tint(image, reference, reference), interpolation="nearest")
        row[1].set_title("reference", fontsize=8)
        for ax, loss in zip(row[2:], losses, strict=True):
            ax.imshow(_tint(image, reference, predictions[loss]), interpolation="nearest")
            ax.set_title(loss, fontsize=8)
        for ax in row:
            ax.axis("off")
    fig.suptitle("green: hit, red: false positive, blue: missed", fontsize=9)
    save_figure(fig, path)
