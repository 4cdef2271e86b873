"""The losses inside MONAI: its BoundaryLoss, DeepSupervisionLoss, loops and SupervisedTrainer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

monai = pytest.importorskip("monai")

from monai.data import DataLoader, Dataset, MetaTensor  # noqa: E402
from monai.losses import BoundaryLoss as MonaiBoundaryLoss  # noqa: E402
from monai.losses import DeepSupervisionLoss  # noqa: E402
from monai.networks import one_hot  # noqa: E402
from monai.networks.nets import UNet  # noqa: E402
from monai.transforms import Compose, RandCropByPosNegLabeld, RandFlipd  # noqa: E402

from boundaryloss.losses import BoundaryLoss, CompoundLoss, GeneralizedDiceLoss  # noqa: E402
from boundaryloss.monai import DistanceMapd, MapLoss, PrepareBatchWithMaps  # noqa: E402
from boundaryloss.schedules import Rebalance  # noqa: E402

PIXDIM = (0.5, 0.5, 2.0)


def _case(seed: int, shape=(18, 16, 10), pixdim=PIXDIM) -> dict[str, MetaTensor]:
    rng = np.random.default_rng(seed)
    grid = np.indices(shape)
    centre = rng.uniform(0.35, 0.65, 3) * np.array(shape)
    radius = sum(((g - c) / (s / 4)) ** 2 for g, c, s in zip(grid, centre, shape, strict=True))
    label = np.zeros(shape, dtype=np.float32)
    label[radius < 1] = 1
    label[radius < 0.3] = 2
    image = label + rng.normal(0, 0.3, shape).astype(np.float32)
    affine = torch.diag(torch.tensor([*pixdim, 1.0], dtype=torch.float64))
    return {
        "image": MetaTensor(torch.from_numpy(image)[None], affine=affine),
        "label": MetaTensor(torch.from_numpy(label)[None], affine=affine.clone()),
    }


def _loader(maps, pixdim=PIXDIM, cases=3, batch_size=2) -> DataLoader:
    keys = ["image", "label"]
    pipeline = Compose(
        [
            RandCropByPosNegLabeld(keys, "label", spatial_size=(16, 16, 8), num_samples=1),
            RandFlipd(keys, prob=0.5, spatial_axis=0),
            *maps,
        ]
    ).set_random_state(3)
    data = [_case(seed, pixdim=pixdim) for seed in range(cases)]
    return DataLoader(Dataset(data, pipeline), batch_size=batch_size, num_workers=0)


@pytest.mark.parametrize("include_background", [True, False])
def test_official_convention_equals_monai_boundary_loss_in_a_monai_pipeline(include_background):
    loader = _loader([DistanceMapd("label", 3, convention="official")], pixdim=(1.0, 1.0, 1.0))
    batch = next(iter(loader))
    logits = torch.randn(batch["label"].shape[0], 3, *batch["label"].shape[2:], dtype=torch.float64)
    for reduction in ("mean", "none"):
        theirs = MonaiBoundaryLoss(
            include_background=include_background,
            softmax=True,
            to_onehot_y=True,
            reduction=reduction,
        )(logits, batch["label"])
        ours = BoundaryLoss(include_background, convention="official", reduction=reduction)
        from_batch_maps = MapLoss(ours)(logits, batch)
        on_the_fly = ours(logits, batch["label"])
        if reduction == "none":  # ours are contributions: per-class mean / C_selected
            classes = 3 if include_background else 2
            from_batch_maps, on_the_fly = from_batch_maps * classes, on_the_fly * classes
        torch.testing.assert_close(from_batch_maps.float(), theirs.float(), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(on_the_fly.float(), theirs.float(), rtol=1e-5, atol=1e-6)


def test_monai_boundary_loss_ignores_the_pixdim_that_our_maps_use():
    batch = next(iter(_loader([DistanceMapd("label", 3, convention="rw")])))
    logits = torch.randn(batch["label"].shape[0], 3, *batch["label"].shape[2:])
    target = one_hot(batch["label"], 3)
    theirs = MonaiBoundaryLoss(softmax=True)(logits, target)
    ours = MapLoss(BoundaryLoss(convention="rw"))(logits, batch)
    unit = BoundaryLoss(convention="rw")(logits, batch["label"])
    reference = BoundaryLoss(convention="rw", spacing=PIXDIM)(logits, batch["label"])
    torch.testing.assert_close(ours, reference)  # maps in mm from the MetaTensor's pixdim
    assert not torch.allclose(ours, unit)
    assert not torch.allclose(ours, theirs)


@pytest.mark.parametrize("convention", ["official", "rw"])
def test_deep_supervision_loss_with_maps_from_each_levels_target(convention):
    torch.manual_seed(0)
    target = torch.from_numpy(np.stack([_case(s)["label"].numpy() for s in (0, 1)]))
    levels = [torch.randn(2, 3, 18, 16, 10), torch.randn(2, 3, 9, 8, 5)]
    ours = DeepSupervisionLoss(BoundaryLoss(include_background=False, convention=convention))
    value = ours(levels, target)
    # Written out: level weights 1, 0.5 ("exp"), targets resized by nearest-exact.
    coarse = torch.nn.functional.interpolate(target, size=(9, 8, 5), mode="nearest-exact")
    term = BoundaryLoss(include_background=False, convention=convention)
    expected = term(levels[0], target) + 0.5 * term(levels[1], coarse)
    torch.testing.assert_close(value, expected)
    if convention == "official":
        monai_loss = MonaiBoundaryLoss(include_background=False, softmax=True, to_onehot_y=True)
        torch.testing.assert_close(value, DeepSupervisionLoss(monai_loss)(levels, target))


def test_deep_supervision_with_one_hot_targets_and_a_compound_loss_trains():
    target = one_hot(torch.from_numpy(np.stack([_case(s)["label"].numpy() for s in (0, 1)])), 3)
    levels = [torch.randn(2, 3, 18, 16, 10, requires_grad=True), torch.randn(2, 3, 9, 8, 5)]
    compound = CompoundLoss(
        {"dice": GeneralizedDiceLoss(), "boundary": BoundaryLoss(include_background=False)},
        Rebalance(start=0.5),
    )
    value = DeepSupervisionLoss(compound)(levels, target)
    value.backward()
    assert torch.isfinite(value) and levels[0].grad.abs().sum() > 0
    labels = target.argmax(1, keepdim=True)
    torch.testing.assert_close(compound(levels[0], target), compound(levels[0], labels))


def _unet() -> UNet:
    torch.manual_seed(0)
    return UNet(3, 1, 3, channels=(4, 8), strides=(2,), num_res_units=0)


def test_plain_monai_loop_uses_the_batch_maps():
    loader = _loader([DistanceMapd("label", 3)])
    network = _unet()
    loss = MapLoss(BoundaryLoss(include_background=False))
    optimizer = torch.optim.SGD(network.parameters(), lr=0.1)
    before = [p.detach().clone() for p in network.parameters()]
    for batch in loader:
        optimizer.zero_grad()
        logits = network(batch["image"])
        value = loss(logits, batch)
        expected = BoundaryLoss(include_background=False)(
            logits.as_tensor(), batch["label"].as_tensor(), dist_map=batch["dist_map"].as_tensor()
        )
        torch.testing.assert_close(value, expected)
        value.backward()
        optimizer.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, network.parameters(), strict=True))


def test_supervised_trainer_with_prepare_batch_and_map_loss():
    pytest.importorskip("ignite")
    from ignite.engine import Events
    from monai.engines import SupervisedTrainer

    loader = _loader([DistanceMapd("label", 3)], cases=4)
    network = _unet()
    compound = CompoundLoss(
        {"dice": GeneralizedDiceLoss(), "boundary": BoundaryLoss(include_background=False)},
        Rebalance(start=0.5, step=0.1),
    )
    seen = []
    trainer = SupervisedTrainer(
        device=torch.device("cpu"),
        max_epochs=2,
        train_data_loader=loader,
        network=network,
        optimizer=torch.optim.SGD(network.parameters(), lr=0.01),
        loss_function=MapLoss(compound),
        prepare_batch=PrepareBatchWithMaps(map_keys=("dist_map",)),
        decollate=False,  # keep state.output batched for the check below
    )
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: compound.step())

    @trainer.on(Events.ITERATION_COMPLETED)
    def check(engine):
        out = engine.state.output
        pred, target = out["pred"].detach(), out["label"]
        with torch.no_grad():
            with_batch_map = compound(pred, target["label"], dist_map=target["dist_map"])
            on_the_fly_unit = compound(pred, target["label"])  # unit voxels: not the batch map
        seen.append((out["loss"].item(), float(with_batch_map), float(on_the_fly_unit)))

    trainer.run()
    assert len(seen) == 4 and compound.weights["dice"] == pytest.approx(0.3)
    for loss, with_batch_map, unit in seen:
        assert loss == pytest.approx(with_batch_map, rel=1e-5)
        assert loss != pytest.approx(unit, rel=1e-3)


def test_map_loss_arguments():
    with pytest.raises(ValueError, match="map_keys values"):
        MapLoss(BoundaryLoss(), map_keys={"dist_map": "bogus"})
    with pytest.raises(ValueError, match="'label'"):
        MapLoss(BoundaryLoss())(torch.zeros(1, 2, 4, 4), {"seg": torch.zeros(1, 1, 4, 4)})
    with pytest.raises(ValueError, match="dist_map"):
        PrepareBatchWithMaps()({"image": torch.zeros(1), "label": torch.zeros(1)})
