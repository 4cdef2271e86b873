"""Run configuration files: YAML in, overrides, the resolved copy out."""

from __future__ import annotations

import re

import pytest

from boundaryloss.config import ConfigError
from boundaryloss.training.config import RunConfig, load_config, save_config


def test_yaml_overrides_and_round_trip(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("name: x\ntrain:\n  epochs: 3\nloss:\n  terms:\n    - name: ce\n")
    config = load_config(path, ["train.epochs=5", "optim.betas=[0.8, 0.9]"])
    assert config.train.epochs == 5 and config.optim.betas == (0.8, 0.9)
    assert config.loss.terms[0].name == "ce"
    save_config(config, tmp_path / "resolved.yaml")
    assert load_config(tmp_path / "resolved.yaml") == config
    assert isinstance(load_config(None), RunConfig)


def test_bad_files(tmp_path):
    (tmp_path / "bad.yaml").write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(ConfigError, match="mapping at the top level"):
        load_config(tmp_path / "list.yaml")
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")


def regex_error(pattern: str) -> str:
    """Python's own message for an invalid regular expression."""
    try:
        re.compile(pattern)
    except re.error as error:
        return str(error)
    raise AssertionError(f"{pattern!r} is a valid regular expression")


#: One wrong value per rule of the run configuration's dataclasses, and the whole message.
VALUE_RULES = [
    (
        "name=a/b",
        "name: 'a/b' is not a valid folder name; it must be a single, non-empty "
        "folder name (no '/', not '.' or '..')",
    ),
    (
        "data.root=/data",
        "data.root: '/data' is not read with data.source=synthetic; set "
        "data.source to the dataset's reader (e.g. msd, drive) or leave data.root out",
    ),
    ("data.source=msd", "data.root: required for data.source='msd'"),
    ("data.slice_axis=3", "data.slice_axis: must be a spatial axis in [-3, 3), got 3"),
    ("data.batch_size=0", "data.batch_size: must be >= 1, got 0"),
    ("data.num_workers=-1", "data.num_workers: must be >= 0, got -1"),
    ("data.num_classes=1", "data.num_classes: must be >= 2, got 1"),
    ("data.val_fraction=1", "data.val_fraction: must lie in (0, 1), got 1.0"),
    ("data.patch_size=[0, 8]", "data.patch_size: sizes must be >= 1, got [0, 8]"),
    ("data.resize=[]", "data.resize: sizes must be >= 1, got []"),
    ("data.max_cases=0", "data.max_cases: must be >= 1 (or null), got 0"),
    ("data.split_seed=-1", "data.split_seed: must lie in [0, 2**32), got -1"),
    (
        "data.group_regex='('",
        f"data.group_regex: invalid regex ({regex_error('(')})",
    ),
    ("data.samples_per_epoch=0", "data.samples_per_epoch: must be >= 1 (or null), got 0"),
    (
        "data.foreground_probability=-0.5",
        "data.foreground_probability: must lie in [0, 1], got -0.5",
    ),
    ("data.synthetic.shape=[8]", "data.synthetic.shape: expected 2 or 3 sizes, got [8]"),
    (
        "data.synthetic.seed=4294967296",
        "data.synthetic.seed: must lie in [0, 2**32), got 4294967296",
    ),
    (
        "data.folders.label_values={x: 1}",
        "data.folders.label_values: key 'x' is not an integer pixel value",
    ),
    ("data.folders.test_fov=masks", "data.folders.fov_pattern: required with a fov folder"),
    (
        "data.folders={fov: masks, fov_pattern: '{id}.png', fov_threshold: 20}",
        "data.folders.fov_threshold: give either fov mask files (fov or test_fov, with "
        "fov_pattern) or a red-channel threshold, not both",
    ),
    ("data.augment.context=0.5", "data.augment.context: must be >= 1, got 0.5"),
    ("data.patch_size=[8, 8, 8]", "data.patch_size: a 2D network needs 2 sizes, got [8, 8, 8]"),
    ("model.spatial_dims=3", "data.patch_size: a 3D network needs 3 sizes"),
    ("loss.terms=[]", "loss.terms: at least one loss term is required"),
    (
        "loss.terms=[{name: gdl}, {name: gdl}]",
        "loss.terms[1]: duplicate term name 'gdl'; set a label",
    ),
    (
        "loss.terms=[{name: gdl, weight: .nan}]",
        "loss.terms[0].weight: must be a finite number >= 0, got nan",
    ),
    ("optim.lr=0", "optim.lr: must be a finite number > 0, got 0.0"),
    ("optim.weight_decay=-1", "optim.weight_decay: must be >= 0, got -1.0"),
    ("optim.momentum=1", "optim.momentum: must lie in [0, 1), got 1.0"),
    ("optim.betas=[0.9, 1]", "optim.betas: each must lie in [0, 1), got [0.9, 1.0]"),
    ("optim.patience=-1", "optim.patience: must be >= 0, got -1"),
    ("optim.factor=0", "optim.factor: must lie in (0, 1], got 0.0"),
    ("optim.poly_exponent=.inf", "optim.poly_exponent: must be a finite number > 0, got inf"),
    ("train.seed=-1", "train.seed: must lie in [0, 2**32), got -1"),
    ("train.epochs=0", "train.epochs: must be >= 1, got 0"),
    ("train.val_every=0", "train.val_every: must be >= 1, got 0"),
    ("train.max_steps_per_epoch=0", "train.max_steps_per_epoch: must be >= 1 (or null), got 0"),
    (
        "train.checkpoint_every_steps=0",
        "train.checkpoint_every_steps: must be >= 1 (or null), got 0",
    ),
    ("train.num_nodes=0", "train.num_nodes: must be >= 1, got 0"),
    ("train.devices=0", "train.devices: must be >= 1, -1 or 'auto', got 0"),
    ("inference.overlap=1", "inference.overlap: must lie in [0, 1), got 1.0"),
    (
        "inference.sliding_window=true",
        "inference.sliding_window: needs data.patch_size (the window)",
    ),
]


@pytest.mark.parametrize(("override", "message"), VALUE_RULES)
def test_every_value_is_refused_as_the_configuration_loads(override, message):
    with pytest.raises(ConfigError) as error:
        load_config(None, [override])
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["model.name=enet", "model.spatial_dims=3", "data.patch_size=[8, 8, 8]"],
            "model.name: enet is 2D only, got spatial_dims 3",
        ),
        (
            ["model.name=enet", "model.deep_supervision=true"],
            "model.deep_supervision: needs the unet, got enet",
        ),
    ],
)
def test_model_rules_name_their_key(overrides, message):
    with pytest.raises(ConfigError) as error:
        load_config(None, overrides)
    assert str(error.value) == message
