"""Every shipped experiment configuration loads, builds its loss and network, and runs.

The paper-scale configurations point at datasets users download themselves, so only
their construction is checked here: the YAML has no unknown key, the loss terms and
schedule build, the maps they need are compatible, and the network takes an input of
the dataset's channel count. The CPU configurations read ``../shared/data`` and also
build their training data and one batch (skipped when the shared data are absent).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from boundaryloss.training.components import build_loss, build_model, required_maps
from boundaryloss.training.config import RunConfig, load_config
from boundaryloss.training.data import build_run_data
from boundaryloss.training.supervision import batch_loss, training_loss

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"
CONFIG_FILES = sorted(CONFIGS.rglob("*.yaml"))

#: Input channels of each dataset as ``boundaryloss prepare`` (or the folder reader)
#: writes it, keyed by the first part of the config file name.
IN_CHANNELS = {
    "isles2018": 5,  # CT, CBF, CBV, MTT, Tmax
    "wmh2017": 2,  # FLAIR, T1
    "acdc": 1,
    "acdc2017": 1,
    "brats2018": 4,  # FLAIR, T1w, T1gd, T2w
    "kits19": 1,
    "drive": 3,
    "chase_db1": 3,
    "hippocampus": 1,
    "idrid": 3,  # RGB fundus photographs
}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny tensors: one thread per pytest worker, not workers x threads on shared cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def dataset_of(path: Path) -> str:
    """``configs/region_wise/kits19_rrw.yaml`` -> ``kits19`` (longest matching prefix)."""
    matches = [name for name in IN_CHANNELS if path.stem.startswith(f"{name}_")]
    assert matches, f"{path}: no dataset in IN_CHANNELS matches its name"
    return max(matches, key=len)


def config_id(path: Path) -> str:
    return str(path.relative_to(CONFIGS))


#: group -> (datasets, loss variants): the experiments docs/reproduction.md lists.
EXPECTED = {
    "boundary_loss": (("isles2018", "wmh2017"), ("gdl", "gdl_boundary", "boundary")),
    "reproduction": (
        ("acdc_enet",),
        ("ce", "gdl", "focal", "ce_boundary", "gdl_boundary", "focal_boundary"),
    ),
    "region_wise": (
        ("acdc2017", "brats2018", "kits19"),
        ("rrw", "dice", "focal", "rrw_ce", "boundary"),
    ),
    "cpu": (
        ("chase_db1", "hippocampus"),
        ("ce", "gdl", "focal", "ce_boundary", "gdl_boundary", "gdl_boundary_rebalance", "rrw"),
    ),
}


def test_the_experiment_groups_are_all_there():
    names = {config_id(path) for path in CONFIG_FILES}
    expected = {
        f"{group}/{dataset}_{variant}.yaml"
        for group, (datasets, variants) in EXPECTED.items()
        for dataset in datasets
        for variant in variants
    }
    expected |= {
        f"reproduction/drive_unet_{v}.yaml" for v in ("ce", "gdl", "ce_boundary", "gdl_boundary")
    }
    expected |= {f"cpu/idrid_{lesion}_ce.yaml" for lesion in ("ex", "ma")}
    expected |= {"gpu/idrid_ex_ce_full.yaml"}
    assert expected <= names, sorted(expected - names)


@pytest.mark.parametrize("path", CONFIG_FILES, ids=config_id)
def test_config_builds_and_runs_forward(path):
    config = load_config(path)
    assert config.name == path.stem, "name: should match the file name (runs/<group>/<name>)"
    assert "TODO" not in path.read_text()
    header = path.read_text().split("\n\n", 1)[0]
    assert f"boundaryloss train --config configs/{config_id(path)}" in header

    loss = build_loss(config.loss)
    required_maps(loss)  # terms sharing a map keyword must agree on the map
    for term in loss.terms.values():  # the boundary term is foreground-only, as published
        if type(term).__name__ == "BoundaryLoss":
            assert not term.include_background, "boundary term must exclude the background"

    dims = config.model.spatial_dims
    channels = IN_CHANNELS[dataset_of(path)]
    num_classes = config.data.num_classes
    model = build_model(config.model, channels, num_classes).eval()
    # Not a multiple of 2**depth (the networks pad and crop back), and large enough that
    # the deepest level keeps more than one voxel (instance norm needs two).
    depth = int(config.model.kwargs.get("depth", 0))
    side = 24 if 2 ** (depth + 1) <= 24 else 2 ** (depth + 1) + 8
    size = (side,) * dims
    image = torch.randn(2, channels, *size)
    with torch.no_grad():
        logits = model(image)
    assert logits.shape == (2, num_classes, *size)

    # Every class appears so that every map is non-trivial.
    target = torch.arange(num_classes).repeat_interleave(side**dims // num_classes + 1)
    target = target[: side**dims].reshape(1, *size).repeat(2, *(1,) * dims)
    value = loss(logits, target)
    assert value.ndim == 0 and torch.isfinite(value)


CPU_FILES = [path for path in CONFIG_FILES if path.parent.name == "cpu"]


def with_resolved_root(config: RunConfig) -> RunConfig:
    """The config with ``data.root`` made absolute (configs are relative to the repo)."""
    root = (REPO / config.data.root).resolve()
    if not root.exists():
        pytest.skip(f"shared data not found at {root}")
    return dataclasses.replace(config, data=dataclasses.replace(config.data, root=str(root)))


#: (data section, maps) -> (RunData, first batch): the seven configurations of a dataset
#: share their data settings and differ only in the maps their losses need.
_BATCHES: dict[tuple[str, tuple], tuple] = {}


def first_batch(config: RunConfig, specs, run_dir: Path) -> tuple:
    key = (repr(config.data), tuple(specs))
    if key not in _BATCHES:
        data = config.data
        run_data = build_run_data(data, specs, None, config.model.spatial_dims, 0)
        loader = DataLoader(run_data.train, batch_size=data.batch_size, shuffle=True)
        _BATCHES[key] = (run_data, next(iter(loader)))
    return _BATCHES[key]


@pytest.mark.parametrize("path", CPU_FILES, ids=config_id)
def test_cpu_config_yields_a_training_batch(path, tmp_path):
    config = with_resolved_root(load_config(path))
    assert config.train.accelerator == "cpu"
    loss = build_loss(config.loss)
    specs = required_maps(loss)
    data = config.data
    run_data, batch = first_batch(config, specs, tmp_path)
    assert run_data.in_channels == IN_CHANNELS[dataset_of(path)]
    assert run_data.split.train and run_data.split.val

    patch = tuple(data.patch_size)
    assert batch["image"].shape == (data.batch_size, run_data.in_channels, *patch)
    assert batch["label"].shape == (data.batch_size, *patch)
    assert int(batch["label"].max()) < data.num_classes
    for spec in specs:
        assert batch[spec.argument].shape == (data.batch_size, data.num_classes, *patch)
    model = build_model(config.model, run_data.in_channels, data.num_classes)
    maps = {spec.argument: batch[spec.argument] for spec in specs}
    # the loss as the training loop calls it (deep supervision when the config asks)
    value = batch_loss(training_loss(loss, config, specs), model(batch["image"]), batch, maps)
    assert torch.isfinite(value)
