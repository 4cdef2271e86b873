"""Registries, map routing and learning-rate schedules, checked by hand."""

from __future__ import annotations

import pytest
import torch

from boundaryloss.config import ConfigError
from boundaryloss.training.components import (
    MapSpec,
    PlateauHalving,
    PolynomialDecay,
    build_loss,
    build_model,
    required_maps,
)
from boundaryloss.training.config import load_config


def loss_config(*terms: str, schedule: str | None = None):
    overrides = [f"loss.terms=[{', '.join(terms)}]"]
    if schedule:
        overrides.append(f"loss.schedule={schedule}")
    return load_config(None, overrides).loss


def test_required_maps_follow_the_terms():
    loss = build_loss(
        loss_config(
            "{name: gdl}",
            "{name: boundary, kwargs: {convention: official, include_background: false}}",
            "{name: region_wise, kwargs: {map: rrw}}",
        )
    )
    assert required_maps(loss) == [
        MapSpec("signed", "official", "dist_map", include_background=False),
        MapSpec("rrw", "rw", "rw_map"),
    ]
    conflicting = build_loss(loss_config("{name: boundary}", "{name: hausdorff}"))
    with pytest.raises(ConfigError, match="both take dist_map but need different maps"):
        required_maps(conflicting)


def test_constant_weights_and_schedule():
    loss = build_loss(loss_config("{name: ce, weight: 1.0}", "{name: boundary, weight: 0.05}"))
    assert loss.weights == {"ce": 1.0, "boundary": 0.05}
    loss = build_loss(loss_config("{name: gdl}", "{name: boundary}", schedule="{name: rebalance}"))
    assert loss.weights == {"gdl": 1.0, "boundary": 0.0}


@pytest.mark.parametrize(
    ("terms", "match"),
    [
        (["{name: nope}"], r"loss.terms\[0\].name: unknown 'nope'"),
        (["{name: focal, kwargs: {gama: 2}}"], r"loss.terms\[0\].kwargs.gama: not an argument"),
        (["{name: focal, kwargs: {gamma: -1}}"], r"loss.terms\[0\]: FocalLoss: gamma"),
        (["{name: gdl}", "{name: gdl}"], r"duplicate term name 'gdl'"),
    ],
)
def test_loss_errors_name_the_key(terms, match):
    with pytest.raises(ConfigError, match=match):
        build_loss(loss_config(*terms))


def test_model_builder():
    config = load_config(None, ["model.name=enet", "model.kwargs={}"]).model
    assert build_model(config, 1, 3)(torch.zeros(1, 1, 16, 16)).shape == (1, 3, 16, 16)
    enet_3d = ["model.name=enet", "model.spatial_dims=3", "data.patch_size=[8, 8, 8]"]
    with pytest.raises(ConfigError, match=r"^model\.name: enet is 2D only, got spatial_dims 3$"):
        load_config(None, enet_3d)


def test_model_config_passes_max_channels_to_the_unet():
    kwargs = "model.kwargs={base_channels: 4, depth: 3, max_channels: 8}"
    three_d = ["model.spatial_dims=3", "data.patch_size=[16, 16, 16]"]
    model = build_model(load_config(None, [kwargs, *three_d]).model, 1, 2)
    assert [block[0].out_channels for block in model.encoders] == [4, 8, 8]
    assert model.bottleneck[0].out_channels == 8
    assert model(torch.zeros(2, 1, 16, 16, 16)).shape == (2, 2, 16, 16, 16)
    bad = load_config(None, ["model.kwargs={base_channels: 4, max_channels: 2}"]).model
    with pytest.raises(ConfigError, match=r"model: UNet: max_channels .* got 2$"):
        build_model(bad, 1, 2)


def test_plateau_halving_by_hand():
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    schedule = PlateauHalving(optimizer, patience=2, factor=0.5)
    lrs = []
    for score in [0.1, 0.2, 0.2, 0.1, 0.3, 0.3, 0.3, None, 0.25]:
        schedule.step(score)
        lrs.append(optimizer.param_groups[0]["lr"])
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    restored = PlateauHalving(optimizer, 2, 0.5)
    restored.load_state_dict(schedule.state_dict())
    assert restored.state_dict() == schedule.state_dict()


def test_polynomial_decay_by_hand():
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.01)
    schedule = PolynomialDecay(optimizer, epochs=4, exponent=0.9)
    values = []
    for _ in range(4):
        schedule.step(None)
        values.append(optimizer.param_groups[0]["lr"])
    expected = [0.01 * (1 - e / 4) ** 0.9 for e in (1, 2, 3, 4)]
    assert values == pytest.approx(expected)


def test_region_wise_and_rrw_cross_entropy_share_the_rrw_map():
    # Bug: refused with "need different maps (rrw vs rrw)" (a convention the map ignores).
    loss = build_loss(loss_config("{name: region_wise, kwargs: {map: rrw}}", "{name: rrw_ce}"))
    assert required_maps(loss) == [MapSpec("rrw", None, "rw_map")]
