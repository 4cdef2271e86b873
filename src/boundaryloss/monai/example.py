"""Worked example: a MONAI UNet on the MSD hippocampus data with GDL + boundary loss.

Everything but the loss and the map transform is stock MONAI: ``LoadImaged`` reads the
NIfTI files, random crops and flips augment them, :class:`~boundaryloss.monai.DistanceMapd`
computes the map the loss declares (``from_loss``: the signed distance map of the
foreground classes) of each *augmented* label (in mm, from the label's affine), and
:class:`~boundaryloss.monai.MapLoss` hands the batch's maps to a
:class:`~boundaryloss.losses.CompoundLoss` of the generalised Dice loss and the boundary
loss, weighted by the paper's :class:`~boundaryloss.schedules.Rebalance` schedule.

Run it (``docs/monai.md`` walks through it)::

    python -m boundaryloss.monai.example /path/to/hippocampus --epochs 50 --device cuda
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from monai.data import DataLoader, Dataset, decollate_batch
from monai.inferers import sliding_window_inference
from monai.metrics import DiceMetric
from monai.networks.nets import UNet
from monai.transforms import (
    AsDiscrete,
    Compose,
    EnsureChannelFirstd,
    LoadImaged,
    NormalizeIntensityd,
    RandCropByPosNegLabeld,
    RandFlipd,
    SpatialPadd,
)

from ..losses import BoundaryLoss, CompoundLoss, GeneralizedDiceLoss
from ..schedules import Rebalance
from . import DistanceMapd, MapLoss

NUM_CLASSES = 3  # background, anterior, posterior hippocampus
KEYS = ("image", "label")


@dataclass
class ExampleConfig:
    """Sizes of the example run (the defaults train for real on a GPU in minutes)."""

    num_train: int = 160
    num_val: int = 40
    epochs: int = 50
    patch_size: tuple[int, int, int] = (32, 32, 32)
    samples_per_case: int = 2
    batch_size: int = 4
    channels: tuple[int, ...] = (16, 32, 64, 128)
    learning_rate: float = 1e-3
    rebalance_step: float = 0.01
    device: str = "cpu"
    seed: int = 0


def hippocampus_files(root: str | Path) -> list[dict[str, str]]:
    """``[{"image": path, "label": path}, ...]`` for every case of an MSD folder, sorted."""
    root = Path(root)
    images = sorted((root / "imagesTr").glob("*.nii.gz"))
    if not images:
        raise FileNotFoundError(f"no imagesTr/*.nii.gz under {root}")
    files = []
    for image in images:
        label = root / "labelsTr" / image.name
        if not label.is_file():
            raise FileNotFoundError(f"{image} has no label {label}")
        files.append({"image": str(image), "label": str(label)})
    return files


def train_transforms(config: ExampleConfig) -> Compose:
    """Load, normalise, crop and flip; the maps come last, from the augmented labels."""
    return Compose(
        [
            LoadImaged(KEYS),
            EnsureChannelFirstd(KEYS),
            NormalizeIntensityd("image", nonzero=True),
            SpatialPadd(KEYS, config.patch_size),
            RandCropByPosNegLabeld(
                KEYS, "label", config.patch_size, pos=2, neg=1, num_samples=config.samples_per_case
            ),
            RandFlipd(KEYS, prob=0.5, spatial_axis=0),
            RandFlipd(KEYS, prob=0.5, spatial_axis=2),
            # the maps the loss declares: "dist_map", foreground channels, in mm
            DistanceMapd.from_loss(build_loss(config), NUM_CLASSES),
        ]
    )


def val_transforms() -> Compose:
    return Compose(
        [LoadImaged(KEYS), EnsureChannelFirstd(KEYS), NormalizeIntensityd("image", nonzero=True)]
    )


def build_network(config: ExampleConfig) -> UNet:
    return UNet(
        spatial_dims=3,
        in_channels=1,
        out_channels=NUM_CLASSES,
        channels=config.channels,
        strides=(2,) * (len(config.channels) - 1),
        num_res_units=1,
    )


def build_loss(config: ExampleConfig) -> CompoundLoss:
    """``alpha * GDL + (1 - alpha) * boundary``, alpha from 1 down by ``rebalance_step``
    per epoch (Kervadec et al., MIDL 2019); boundary loss on the foreground classes."""
    return CompoundLoss(
        {
            "gdl": GeneralizedDiceLoss(include_background=False),
            "boundary": BoundaryLoss(include_background=False),
        },
        Rebalance(start=1.0, step=config.rebalance_step),
    )


def validate(network: torch.nn.Module, loader: DataLoader, config: ExampleConfig) -> list[float]:
    """Mean Dice of the foreground classes over the validation cases (whole volumes)."""
    metric = DiceMetric(include_background=False, reduction="mean_batch")
    to_onehot = AsDiscrete(to_onehot=NUM_CLASSES)
    to_pred = AsDiscrete(argmax=True, to_onehot=NUM_CLASSES)
    network.eval()
    with torch.no_grad():
        for batch in loader:
            image = batch["image"].to(config.device)
            logits = sliding_window_inference(image, config.patch_size, 4, network)
            preds = [to_pred(p) for p in decollate_batch(logits)]
            labels = [to_onehot(y) for y in decollate_batch(batch["label"].to(config.device))]
            metric(preds, labels)
    return [float(v) for v in metric.aggregate()]


def train(root: str | Path, config: ExampleConfig) -> list[dict[str, float]]:
    """Train and validate once per epoch; returns one record per epoch."""
    torch.manual_seed(config.seed)
    files = hippocampus_files(root)
    train_files = files[: config.num_train]
    val_files = files[config.num_train : config.num_train + config.num_val]
    train_data = Dataset(train_files, train_transforms(config).set_random_state(config.seed))
    train_loader = DataLoader(train_data, batch_size=config.batch_size, shuffle=True)
    val_loader = DataLoader(Dataset(val_files, val_transforms()), batch_size=1)

    network = build_network(config).to(config.device)
    loss_function = MapLoss(build_loss(config))
    optimizer = torch.optim.Adam(network.parameters(), config.learning_rate)
    history = []
    for epoch in range(config.epochs):
        network.train()
        losses = []
        for batch in train_loader:
            batch = {key: batch[key].to(config.device) for key in ("image", "label", "dist_map")}
            optimizer.zero_grad()
            loss = loss_function(network(batch["image"]), batch)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        record = {"epoch": epoch, "loss": sum(losses) / len(losses)}
        record.update({f"weight_{k}": w for k, w in loss_function.loss.weights.items()})
        if val_files:
            dice = validate(network, val_loader, config)
            record.update({"dice_anterior": dice[0], "dice_posterior": dice[1]})
        history.append(record)
        loss_function.loss.step()  # Rebalance: one step per epoch
    return history


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="MSD hippocampus folder (imagesTr/, labelsTr/)")
    parser.add_argument("--epochs", type=int, default=ExampleConfig.epochs)
    parser.add_argument("--num-train", type=int, default=ExampleConfig.num_train)
    parser.add_argument("--num-val", type=int, default=ExampleConfig.num_val)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    config = ExampleConfig(
        num_train=args.num_train, num_val=args.num_val, epochs=args.epochs, device=args.device
    )
    try:
        history = train(args.data, config)
    except FileNotFoundError as error:
        print(f"error: data: {error}", file=sys.stderr)
        return 2
    for record in history:
        print(
            ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
