"""``data.samples_per_epoch`` and ``data.foreground_probability`` in a training run."""

from __future__ import annotations

import pytest

from boundaryloss.config import ConfigError
from boundaryloss.data.datasets import EpochDataset
from boundaryloss.training.data import build_run_data
from boundaryloss.training.engine import Trainer
from tests.tiny_runs import TINY_3D


def test_samples_per_epoch_sets_the_steps_of_an_epoch(tiny_config):
    # 10 cases, 8 in training, batch 4: 2 steps an epoch by default, 5 with 20 samples.
    config = tiny_config("train.epochs=1", "data.samples_per_epoch=20", "data.patch_size=[32, 32]")
    trainer = Trainer(config)
    steps = []
    original = trainer._train_step
    trainer._train_step = lambda batch, epoch, step: (
        steps.append(step) or original(batch, epoch, step)
    )
    trainer.fit()
    assert len(steps) == 5
    assert isinstance(trainer.data.train, EpochDataset) and len(trainer.data.train) == 20


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.samples_per_epoch=0", r"^data\.samples_per_epoch: must be >= 1 \(or null\), got 0$"),
        (
            "data.foreground_probability=1.5",
            r"^data\.foreground_probability: must lie in \[0, 1\], got 1\.5$",
        ),
    ],
)
def test_bad_epoch_settings_name_their_key(tiny_config, override, message):
    with pytest.raises(ConfigError, match=message):  # as the configuration is loaded
        tiny_config(override)


SMALL_3D = [
    *TINY_3D,
    "data.patch_size=[8, 8, 16]",  # deeper than the 12 slices
    "loss.terms=[{name: gdl}, {name: boundary, kwargs: {include_background: false}}]",
]


def test_3d_cases_smaller_than_the_patch_are_padded_for_training(tiny_config, tmp_path):
    config = tiny_config(*SMALL_3D, "train.epochs=1")
    data = build_run_data(config.data, [], None, 3, 0)
    sample = data.train[0]
    assert sample["image"].shape == (1, 8, 8, 16) and sample["label"].shape == (8, 8, 16)
    summary = Trainer(config).fit()  # validation: windows cropped to the whole volumes
    assert 0.0 <= summary["final"]["val_dice_mean"] <= 1.0
