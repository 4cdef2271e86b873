"""``model.deep_supervision``: the loop trains the UNet's lower-resolution outputs."""

from __future__ import annotations

import pytest
import torch

from boundaryloss.config import ConfigError
from boundaryloss.evaluation.predict import Predictor
from boundaryloss.losses import DeepSupervisionLoss
from boundaryloss.losses.deep_supervision import SCALE_TARGETS
from boundaryloss.training.engine import Trainer
from tests.tiny_runs import TINY_PATCHES

BOUNDARY = "loss.terms=[{name: gdl}, {name: boundary, kwargs: {include_background: false}}]"


@pytest.mark.parametrize("dims", [2, 3])
def test_deep_supervision_run_trains_every_head_and_predicts_full_resolution(tiny_config, dims):
    extra = TINY_PATCHES[dims]
    config = tiny_config(
        BOUNDARY,
        "model.deep_supervision=true",
        "model.kwargs={base_channels: 4, depth: 3}",
        "train.epochs=1",
        *extra,
    )
    trainer = Trainer(config)
    before = {}
    original = trainer._train_step

    def step(batch, epoch, index):
        if not before:
            module = trainer.model.module if hasattr(trainer.model, "module") else trainer.model
            before.update({k: v.detach().clone() for k, v in module.state_dict().items()})
        return original(batch, epoch, index)

    trainer._train_step = step
    summary = trainer.fit()
    assert isinstance(trainer.loss_fn, DeepSupervisionLoss)
    assert 0.0 <= summary["final"]["val_dice_mean"] <= 1.0
    after = torch.load(config.run_dir / "checkpoints" / "last.pt", weights_only=False)["model"]
    # the 1/2 head (weight 1/3) learns; the 1/4 head (weight 0) gets zero gradients
    assert not torch.equal(
        before["supervision_heads.1.weight"], after["supervision_heads.1.weight"]
    )
    assert torch.equal(before["supervision_heads.0.weight"], after["supervision_heads.0.weight"])
    assert {"term/gdl", "term/boundary"} <= set(summary["final"])
    predictor = Predictor.from_checkpoint(config.run_dir / "checkpoints" / "last.pt")
    assert predictor.model.deep_supervision and not predictor.model.training


@pytest.mark.parametrize("dims", [2, 3])
def test_the_data_pipeline_computes_the_lower_scales_the_loss_would(tiny_config, dims):
    config = tiny_config(
        BOUNDARY,
        "model.deep_supervision=true",
        "model.kwargs={base_channels: 4, depth: 3}",
        "data.num_workers=1",
        "data.synthetic.num_classes=3",
        "data.num_classes=3",
        *TINY_PATCHES[dims],
    )
    trainer = Trainer(config)
    trainer._setup()
    batch = next(iter(trainer._loader(0)))
    half, coarsest = batch[SCALE_TARGETS]  # depth 3: outputs at 1, 1/2 and 1/4
    assert coarsest == {}  # weight 0 in nnU-Net's weights: nothing computed
    torch.manual_seed(0)
    outputs = trainer.model(batch["image"])
    assert half["label"].shape[1:] == outputs[1].shape[2:]
    maps = {"dist_map": batch["dist_map"]}
    # the background channel, which no term reads, is not computed at any scale
    assert not batch["dist_map"][:, 0].any() and not half["dist_map"][:, 0].any()
    given = trainer.loss_fn(outputs, batch["label"], batch["spacing"], batch[SCALE_TARGETS], **maps)
    computed = trainer.loss_fn(outputs, batch["label"], batch["spacing"], **maps)
    assert torch.equal(given, computed)


def test_deep_supervision_needs_the_unet(tiny_config):
    with pytest.raises(ConfigError, match=r"^model\.deep_supervision: needs the unet, got enet$"):
        tiny_config("model.name=enet", "model.kwargs={}", "model.deep_supervision=true")


def test_without_deep_supervision_samples_carry_no_lower_scales(tiny_config):
    config = tiny_config(BOUNDARY, "model.kwargs={base_channels: 4, depth: 3}")
    trainer = Trainer(config)
    trainer._setup()
    assert not isinstance(trainer.loss_fn, DeepSupervisionLoss)
    batch = next(iter(trainer._loader(0)))
    assert SCALE_TARGETS not in batch and "dist_map" in batch
