"""Training batches: the epoch's data loader, its last-batch rule, and the size checks.

Batch ``b`` of epoch ``e`` is the same whether the run was resumed or not: the sampler
is re-seeded per epoch and the loader's generator is seeded from ``train.seed`` and the
epoch. A batch whose samples differ in size (2D slices of cases of different sizes
without a patch to cut) is not collated but reported, so the trainer can say which
setting to change instead of failing inside ``torch.stack``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate

from ..config import ConfigError


def drop_last(samples: int, per_rank: int) -> bool:
    """Drop an incomplete last batch when there are at least two full ones (a batch of
    one breaks batch normalisation)."""
    return samples >= 2 * per_rank


def check_batch_size(batch_size: int, samples: int, world_size: int = 1) -> None:
    """Refuse a batch larger than an epoch's training samples, which the loader would
    silently shrink to a single batch of every sample.

    Args:
        batch_size: ``data.batch_size``, over all processes.
        samples: training samples of an epoch (cases, slices or patches).
        world_size: processes; each gets ``ceil(samples / world_size)`` samples.

    Raises:
        ConfigError: naming ``data.batch_size`` and the number of samples.
    """
    per_rank = math.ceil(samples / world_size)
    if batch_size // world_size > per_rank:
        raise ConfigError(
            f"data.batch_size: {batch_size} is larger than the {samples} training samples "
            f"of an epoch; use at most {per_rank * world_size} (or raise "
            "data.samples_per_epoch)"
        )


def check_batch_split(
    batch_size: int, world_size: int, devices: int | str = 1, num_nodes: int = 1
) -> None:
    """Refuse a ``data.batch_size`` that the processes cannot share equally.

    Args:
        batch_size: ``data.batch_size``, over all processes.
        world_size: processes (``train.devices`` times ``train.num_nodes``, as resolved).
        devices, num_nodes: the settings, named in the message.

    Raises:
        ConfigError: naming ``data.batch_size`` and the settings that give the processes.
    """
    if batch_size % world_size:
        raise ConfigError(
            f"data.batch_size: {batch_size} is not divisible by the {world_size} processes "
            f"(train.devices={devices}, train.num_nodes={num_nodes}); use a multiple of "
            f"{world_size} or fewer devices"
        )


def smallest_batch(samples: int, per_rank: int) -> int:
    """The smallest batch a loader of ``samples`` samples per rank gives."""
    if samples == 0:
        return per_rank
    if drop_last(samples, per_rank) or samples % per_rank == 0:
        return min(per_rank, samples)
    return samples % per_rank


class MixedSizes:
    """A batch whose samples differ in size (what :func:`collate` returns for it)."""

    def __init__(self, batch: list[dict[str, Any]]) -> None:
        self.shapes = sorted({tuple(s["image"].shape[1:]) for s in batch})
        self.cases = sorted({str(s.get("case_id", "?")) for s in batch})

    def error(self) -> ConfigError:
        return ConfigError(
            f"data.patch_size: training samples of different sizes {self.shapes} (cases "
            f"{', '.join(self.cases[:3])}) cannot form a batch; set data.patch_size "
            "(or data.resize)"
        )


def collate(batch: list[dict[str, Any]]):
    """``default_collate``, or :class:`MixedSizes` for samples of different sizes."""
    if len({tuple(s["image"].shape) for s in batch}) > 1:
        return MixedSizes(batch)
    return default_collate(batch)


def epoch_loader(
    dataset: Dataset,
    sampler: Sampler,
    per_rank: int,
    num_workers: int,
    seed: int,
    epoch: int,
) -> DataLoader:
    """The data loader of one epoch (``epoch`` 0-based) on one rank."""
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)
    return DataLoader(
        dataset,
        batch_size=per_rank,
        sampler=sampler,
        num_workers=num_workers,
        drop_last=drop_last(len(sampler), per_rank),
        generator=torch.Generator().manual_seed(seed * 100_003 + epoch),
        persistent_workers=False,
        collate_fn=collate,
    )
