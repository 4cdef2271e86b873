"""``data.augment``: the transforms a configuration builds, and runs that use them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boundaryloss.config import ConfigError
from boundaryloss.data.augment import RandomCrop, RandomGamma
from boundaryloss.data.intensity import RandomGaussianNoise, RandomLowResolution
from boundaryloss.data.spatial import RandomSpatial
from boundaryloss.training import engine
from boundaryloss.training.data import training_transforms
from boundaryloss.training.engine import Trainer
from boundaryloss.training.supervision import batch_loss
from tests.tiny_runs import TINY_PATCHES

from ..maps.reference import paper

NNUNET = [
    "data.augment.rotation=180",
    "data.augment.p_rotation=0.5",
    "data.augment.p_scale=0.5",
    "data.augment.elastic_magnitude=2",
    "data.augment.elastic_sigma=4",
    "data.augment.p_elastic=0.5",
    "data.augment.p_noise=0.1",
    "data.augment.p_blur=0.2",
    "data.augment.p_brightness=0.15",
    "data.augment.p_contrast=0.15",
    "data.augment.p_low_resolution=0.25",
    "data.augment.p_gamma_inverted=0.1",
    "data.augment.p_gamma=0.3",
]


def test_defaults_build_no_resampling(tiny_config):
    steps = training_transforms(tiny_config().data, 2, (32, 32)).transforms
    assert not any(isinstance(t, RandomSpatial) for t in steps)
    assert training_transforms(tiny_config().data, 2, (32, 32)).preserves_maps is False  # crop


def test_nnunet_settings_build_every_transform_with_context(tiny_config):
    config = tiny_config(*NNUNET, "data.augment.context=1.5")
    steps = training_transforms(config.data, 2, (32, 32)).transforms
    crop = next(t for t in steps if isinstance(t, RandomCrop))
    assert crop.margin == (8, 8)  # ceil(32 * 0.5 / 2)
    spatial = next(t for t in steps if isinstance(t, RandomSpatial))
    assert spatial.output_shape == (32, 32) and spatial.p_elastic == 0.5
    gammas = [t for t in steps if isinstance(t, RandomGamma)]
    assert [(g.p, g.invert) for g in gammas] == [(0.1, True), (0.3, False)]
    assert any(isinstance(t, RandomGaussianNoise) for t in steps)
    assert any(isinstance(t, RandomLowResolution) for t in steps)


def test_bad_augmentation_values_name_the_section(tiny_config):
    with pytest.raises(ConfigError, match=r"data\.augment"):
        training_transforms(tiny_config("data.augment.p_noise=2").data, 2, None)
    with pytest.raises(ConfigError, match=r"data\.augment\.context"):
        training_transforms(
            tiny_config("data.augment.p_scale=0.2", "data.augment.context=0.5").data, 2, (8, 8)
        )


@pytest.mark.parametrize("dims", [2, 3])
def test_runs_with_spatial_and_intensity_augmentation(tiny_config, dims, monkeypatch):
    terms = "loss.terms=[{name: gdl}, {name: boundary, kwargs: {include_background: false}}]"
    seen = []

    def recording(loss_fn, outputs, batch, maps):
        seen.append((batch["label"].clone(), maps["dist_map"].clone()))
        return batch_loss(loss_fn, outputs, batch, maps)

    monkeypatch.setattr(engine, "batch_loss", recording)
    augmented = Trainer(tiny_config(*NNUNET, *TINY_PATCHES[dims], "train.epochs=1", terms)).fit()
    assert seen
    for labels, maps in seen:
        assert set(labels.unique().tolist()) <= {0, 1}  # resampled labels stay classes
        for label, dist_map in zip(labels.numpy(), maps.numpy(), strict=True):
            # The boundary term reads the map of the label it is given: the augmented one,
            # not the map of the label before rotation, scaling and elastic deformation.
            np.testing.assert_allclose(dist_map[1], paper(label == 1), atol=1e-4)
    plain = Trainer(tiny_config(*TINY_PATCHES[dims], "train.epochs=1", terms, name="plain")).fit()
    # Same seed, same cases: only the augmentation can change what the network trained on.
    assert augmented["final"]["train_loss"] != plain["final"]["train_loss"]


def test_resume_with_augmentation_and_deep_supervision_equals_uninterrupted(tiny_config):
    settings = [
        *NNUNET,
        "data.patch_size=[32, 32]",
        "data.samples_per_epoch=12",
        "model.deep_supervision=true",
        "model.kwargs={base_channels: 4, depth: 3}",
        "loss.terms=[{name: gdl}, {name: boundary, kwargs: {include_background: false}}]",
    ]
    full = tiny_config(*settings, "train.epochs=2", name="full")
    Trainer(full).fit()
    half = tiny_config(*settings, "train.epochs=1", name="half")
    Trainer(half).fit()
    Trainer(tiny_config(*settings, "train.epochs=2", name="half"), resume=True).fit()
    a = torch.load(full.run_dir / "checkpoints" / "last.pt", weights_only=False)["model"]
    b = torch.load(half.run_dir / "checkpoints" / "last.pt", weights_only=False)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
