"""Figures as in the papers: learning curves and qualitative overlays (PNG, atomic)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._files import atomic_path


def pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | os.PathLike) -> None:
    """Save a figure as PNG atomically and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(fig)


def learning_curves(rows: Sequence[dict[str, Any]], path: str | os.PathLike, unit: str) -> None:
    """Training loss and loss weights, validation Dice and HD95 per class (in ``unit``,
    ``"mm"`` or ``"px"``), over epochs."""
    plt = pyplot()
    epochs = [row["epoch"] for row in rows]
    panels = [
        ("loss", [k for k in rows[-1] if k == "train_loss" or k.startswith("term/")]),
        ("loss weights", [k for k in rows[-1] if k.startswith("weight/")]),
        ("validation Dice", [k for k in rows[-1] if k.startswith("val_dice/")]),
        (f"validation HD95 ({unit})", [k for k in rows[-1] if k.startswith("val_hd95/")]),
    ]
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.6))
    for ax, (title, keys) in zip(axes, panels, strict=True):
        for key in keys:
            values = [row.get(key, np.nan) for row in rows]
            values = [np.nan if v is None else float(v) for v in values]
            ax.plot(epochs, values, marker="." if len(epochs) < 30 else None, label=key)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        if keys:
            ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    save_figure(fig, path)


def overlay(
    image: np.ndarray,
    reference: np.ndarray,
    prediction: np.ndarray,
    path: str | os.PathLike,
    title: str = "",
) -> None:
    """image | reference | prediction | difference (green: hit, red: false positive,
    blue: missed) for a 2D slice ``(H, W)`` (image may be ``(C, H, W)``)."""
    plt = pyplot()
    shown = image[0] if image.ndim == 3 else image
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.6))
    axes[0].imshow(shown, cmap="gray")
    axes[1].imshow(reference, cmap="viridis", interpolation="nearest")
    axes[2].imshow(prediction, cmap="viridis", interpolation="nearest")
    difference = np.zeros((*reference.shape, 3))
    fg_ref, fg_pred = reference > 0, prediction > 0
    difference[fg_ref & fg_pred] = (0.1, 0.8, 0.1)
    difference[~fg_ref & fg_pred] = (0.9, 0.1, 0.1)
    difference[fg_ref & ~fg_pred] = (0.2, 0.4, 1.0)
    axes[3].imshow(difference, interpolation="nearest")
    for ax, name in zip(axes, ("image", "reference", "prediction", "difference"), strict=True):
        ax.set_title(name)
        ax.axis("off")
    if title:
        fig.suptitle(title)
    save_figure(fig, path)
