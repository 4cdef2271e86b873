"""A key given twice in a YAML file is refused, naming the key, the file and the line.

PyYAML keeps the last of two equal keys: a second ``data:`` section silently replaced
the first, and the run trained on the defaults (synthetic data) instead.
"""

from __future__ import annotations

import pytest

from boundaryloss.cli import main
from boundaryloss.config import ConfigError, apply_overrides, read_yaml

from .conftest import TINY, one_error_line


def test_a_second_top_level_section_is_refused(tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text(
        "data:\n  source: msd\n  root: /somewhere\nmodel:\n  spatial_dims: 2\n"
        "data:\n  batch_size: 2\n"
    )
    output = tmp_path / "out"
    argv = ["train", "--config", str(config), f"output_dir={output}", "name=run", *TINY]
    assert main(argv) == 1
    line = one_error_line(capsys)
    assert f"{config}: line 6: duplicate key 'data' (first at line 1)" in line
    assert not output.exists()


def test_a_nested_duplicate_is_refused(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("train:\n  epochs: 5\n  seed: 1\n  epochs: 50\n")
    with pytest.raises(ConfigError, match=r"line 4: duplicate key 'epochs' \(first at line 2\)"):
        read_yaml(config)


def test_an_experiment_file_with_a_duplicate_is_refused(tmp_path, capsys):
    experiment = tmp_path / "experiment.yaml"
    experiment.write_text(
        "name: exp\nlosses:\n  - {name: gdl, loss: {terms: [{name: gdl}]}}\n"
        "base:\n  train: {epochs: 1}\nbase:\n  train: {epochs: 2}\n"
    )
    output = tmp_path / "out"
    assert main(["compare", "--config", str(experiment), "--output", str(output)]) == 1
    line = one_error_line(capsys)
    assert f"{experiment}: line 6: duplicate key 'base' (first at line 4)" in line
    assert not output.exists()


def test_a_duplicate_inside_an_override_value_is_refused():
    with pytest.raises(ConfigError, match="duplicate key 'depth'"):
        apply_overrides({}, ["model.kwargs={depth: 2, depth: 3}"])


def test_merge_keys_may_still_be_overridden(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("shared: &s {epochs: 2, seed: 1}\ntrain:\n  <<: *s\n  epochs: 3\n")
    assert read_yaml(config)["train"] == {"epochs": 3, "seed": 1}
