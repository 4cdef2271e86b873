"""Epochs of a fixed number of samples (``data.samples_per_epoch``) and fg oversampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from boundaryloss.data.case import Case
from boundaryloss.data.datasets import EpochDataset, PatchDataset

from .pipeline_cases import blob_case


def volumes(n=3, shape=(10, 12, 12)):
    return [blob_case(f"case_{i}", shape=shape, seed=i) for i in range(n)]


def test_epoch_visits_every_item_evenly_with_new_patches():
    base = PatchDataset(volumes(3), patch_size=(4, 4, 4), foreground_probability=0.0, seed=1)
    epoch = EpochDataset(base, 10)
    assert len(epoch) == 10
    torch.manual_seed(0)
    samples = [epoch[i] for i in range(10)]
    visits = [s["case_id"] for s in samples]
    # i % 3: cases 0, 1, 2 visited 4, 3, 3 times
    assert visits.count("case_0") == 4 and visits.count("case_1") == 3
    starts = {tuple(s["patch_start"].tolist()) for s in samples if s["case_id"] == "case_0"}
    assert len(starts) > 1  # each visit draws its own patch
    with pytest.raises(IndexError):
        epoch[10]


def test_epoch_dataset_batches_through_a_loader():
    base = PatchDataset(volumes(2), patch_size=(4, 6, 6), seed=0)
    loader = DataLoader(EpochDataset(base, 7), batch_size=3, shuffle=True)
    sizes = [batch["image"].shape[0] for batch in loader]
    assert sizes == [3, 3, 1]


@pytest.mark.parametrize("samples", [0, -2, 1.5, True])
def test_bad_sample_counts(samples):
    base = PatchDataset(volumes(1), patch_size=(4, 4, 4))
    with pytest.raises(ValueError, match="samples must be an int >= 1"):
        EpochDataset(base, samples)


def test_foreground_probability_one_puts_foreground_in_every_patch():
    # One small cube in a large volume: uniform patches mostly miss it.
    cases = []
    for i in range(2):
        label = np.zeros((24, 24, 24), dtype=np.int64)
        label[3 + i : 5 + i, 10:12, 17:19] = 1
        cases.append(
            Case(f"c{i}", label[None].astype(np.float32), label, (1.0, 1.0, 1.0), spacing_unit="mm")
        )
    forced = PatchDataset(cases, patch_size=(4, 4, 4), foreground_probability=1.0, seed=0)
    uniform = PatchDataset(cases, patch_size=(4, 4, 4), foreground_probability=0.0, seed=0)
    torch.manual_seed(0)
    hits_forced = [bool(forced[i % 2]["label"].any()) for i in range(40)]
    hits_uniform = [bool(uniform[i % 2]["label"].any()) for i in range(40)]
    assert all(hits_forced)
    assert np.mean(hits_uniform) < 1.0
