"""MapLoss checks the batch's maps against what the loss needs; DistanceMapd.from_loss makes them.

Before: a batch without the map, or with a map of another kind, went through silently —
the loss computed its own map from the label, whose MetaTensor spacing ``MapLoss`` had
already stripped (voxels, not mm), or read the wrong map.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

monai = pytest.importorskip("monai")

from monai.data import DataLoader, Dataset, MetaTensor  # noqa: E402
from monai.transforms import Compose, RandFlipd  # noqa: E402

from boundaryloss.losses import (  # noqa: E402
    BoundaryLoss,
    CompoundLoss,
    GeneralizedDiceLoss,
    RegionWiseLoss,
)
from boundaryloss.maps import MapSpec  # noqa: E402
from boundaryloss.monai import DistanceMapd, MapLoss  # noqa: E402
from boundaryloss.monai.transforms import map_spec_of  # noqa: E402

from ..maps.reference import REFERENCES, per_class, rrw  # noqa: E402

PIXDIM = (0.5, 0.5, 2.0)


def _sample(seed: int, shape=(12, 10, 6)) -> dict[str, MetaTensor]:
    """A ball of class 1 around a core of class 2, in a volume of pixdim ``PIXDIM``."""
    rng = np.random.default_rng(seed)
    grid = np.indices(shape)
    centre = rng.uniform(0.4, 0.6, 3) * np.array(shape)
    radius = sum(((g - c) / (s / 3)) ** 2 for g, c, s in zip(grid, centre, shape, strict=True))
    label = np.zeros(shape, dtype=np.float32)
    label[radius < 1] = 1
    label[radius < 0.3] = 2
    affine = torch.diag(torch.tensor([*PIXDIM, 1.0], dtype=torch.float64))
    image = label + rng.normal(0, 0.3, shape).astype(np.float32)
    return {
        "image": MetaTensor(torch.from_numpy(image)[None], affine=affine),
        "label": MetaTensor(torch.from_numpy(label)[None], affine=affine.clone()),
    }


def _batch(*maps) -> dict:
    """One batch of a MONAI pipeline: a flip, then ``maps``."""
    pipeline = Compose([RandFlipd(["image", "label"], prob=0.5, spatial_axis=0), *maps])
    data = Dataset([_sample(seed) for seed in (0, 1)], pipeline.set_random_state(0))
    return next(iter(DataLoader(data, batch_size=2, num_workers=0)))


def _logits(batch: dict) -> torch.Tensor:
    return torch.randn(2, 3, *batch["label"].shape[2:], generator=torch.Generator().manual_seed(0))


def test_a_missing_map_is_an_error_naming_what_the_loss_needs():
    batch = _batch()  # no DistanceMapd
    loss = MapLoss(BoundaryLoss(include_background=False))
    need = re.escape(repr(MapSpec("signed", include_background=False)))
    with pytest.raises(ValueError, match=rf"no 'dist_map' entry.*BoundaryLoss.*{need}"):
        loss(_logits(batch), batch)
    with pytest.raises(ValueError, match=r"label alone.*MapSpec\(kind='signed'"):
        loss(_logits(batch), batch["label"])
    # a loss that takes no map still takes the label alone
    value = MapLoss(GeneralizedDiceLoss())(_logits(batch), batch["label"])
    assert torch.isfinite(value)


@pytest.mark.parametrize(
    ("transform", "given"),
    [
        (DistanceMapd("label", 3, kind="unsigned"), "kind='unsigned'"),
        (DistanceMapd("label", 3, convention="official"), "convention='official'"),
        (DistanceMapd("label", 3, kind="rrw", map_keys="dist_map"), "kind='rrw'"),
    ],
    ids=["kind", "convention", "region-wise map under dist_map"],
)
def test_a_map_of_another_kind_is_an_error(transform, given):
    batch = _batch(transform)
    pattern = rf"target\['dist_map'\]: MapSpec\([^)]*{given}[^)]*\) is not the map"
    with pytest.raises(ValueError, match=pattern):
        MapLoss(BoundaryLoss())(_logits(batch), batch)


def test_a_map_without_a_channel_the_loss_reads_is_an_error():
    batch = _batch(DistanceMapd.from_loss(BoundaryLoss(classes=[1]), 3))
    assert map_spec_of(batch["dist_map"]) == MapSpec("signed", classes=[1])
    with pytest.raises(ValueError, match=r"leaves out channel\(s\) \[2\] of 3"):
        MapLoss(BoundaryLoss(include_background=False))(_logits(batch), batch)


def test_from_loss_computes_every_map_the_loss_needs_in_mm():
    compound = CompoundLoss(
        {
            "gdl": GeneralizedDiceLoss(),
            "boundary": BoundaryLoss(include_background=False),
            "rrw": RegionWiseLoss(),
        },
        [1.0, 0.5, 0.25],
    )
    transform = DistanceMapd.from_loss(compound, num_classes=3)
    assert transform.map_keys == ("dist_map", "rw_map")
    batch = _batch(transform)
    label = batch["label"].as_tensor()[:, 0].long().numpy()
    # independent references (scipy), in mm from the pixdim; channel 0 is not read: zeros
    signed = np.stack([per_class(REFERENCES["paper"], one, 3, PIXDIM) for one in label])
    signed[:, 0] = 0
    region = np.stack([np.stack([rrw(one == k, PIXDIM) for k in range(3)]) for one in label])
    np.testing.assert_allclose(batch["dist_map"].numpy(), signed, atol=1e-5)
    np.testing.assert_allclose(batch["rw_map"].numpy(), region, atol=1e-5)

    logits = _logits(batch).requires_grad_()
    value = MapLoss(compound)(logits, batch)
    value.backward()
    target = torch.from_numpy(label)
    expected = (
        GeneralizedDiceLoss()(logits, target)
        + 0.5 * BoundaryLoss(include_background=False, spacing=PIXDIM)(logits, target)
        + 0.25 * RegionWiseLoss(spacing=PIXDIM)(logits, target)
    )
    torch.testing.assert_close(value, expected)
    assert logits.grad.abs().sum() > 0


def test_a_map_that_records_no_spec_is_taken_as_it_is():
    batch = _batch(DistanceMapd("label", 3))
    plain = {"label": batch["label"], "dist_map": batch["dist_map"].as_tensor()}
    loss = MapLoss(BoundaryLoss())
    torch.testing.assert_close(loss(_logits(batch), plain), loss(_logits(batch), batch))


def test_from_loss_arguments():
    with pytest.raises(ValueError, match="GeneralizedDiceLoss takes no precomputed map"):
        DistanceMapd.from_loss(GeneralizedDiceLoss(), 3)
    with pytest.raises(ValueError, match="one label key"):
        DistanceMapd.from_loss(BoundaryLoss(), 3, keys=["a", "b"])
    with pytest.raises(ValueError, match="both take dist_map but need different maps"):
        DistanceMapd.from_loss(CompoundLoss([BoundaryLoss(), BoundaryLoss(convention="rw")]), 3)
    with pytest.raises(ValueError, match="no batch key for rw_map"):
        MapLoss(RegionWiseLoss(), map_keys={"sdm": "dist_map"})
    with pytest.raises(ValueError, match="gives dist_map twice"):
        MapLoss(BoundaryLoss(), map_keys={"a": "dist_map", "b": "dist_map"})
