"""Run configuration files: YAML in, overrides, the resolved copy out."""

from __future__ import annotations

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
