"""``train --resume`` refuses settings the run was not trained with.

A resume with another loss, data or learning rate used to continue silently and rewrite
``config.yaml``, which then misdescribed the run. Only the keys of
``RESUMABLE_KEYS`` may change; ``compare`` reuses the same comparison.
"""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from boundaryloss.experiments.config import RunSpec
from boundaryloss.experiments.runner import check_saved_config
from boundaryloss.training.config import load_config

from .conftest import one_error_line, snapshot, train


@pytest.fixture
def run(tmp_path, capsys):
    """A finished one-epoch tiny run, its files and the captured output cleared."""
    assert train(tmp_path, "run") == 0
    capsys.readouterr()
    return tmp_path / "run"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("optim.lr=0.01", "optim.lr: 0.001 -> 0.01"),
        ("loss.terms=[{name: dice}]", "loss.terms: [{'name': 'gdl'"),
        ("data.synthetic.cases=7", "data.synthetic.cases: 6 -> 7"),
        ("data.augment.flip=false", "data.augment.flip: True -> False"),
    ],
)
def test_a_changed_setting_is_refused_and_the_run_left_alone(
    run, tmp_path, capsys, override, expected
):
    before = snapshot(run)
    assert train(tmp_path, "run", "--resume", "train.epochs=2", override) == 1
    line = one_error_line(capsys)
    assert f"resume: {run / 'config.yaml'} was trained with other settings" in line
    changes = line.split("other settings (")[1].split("); only")[0]
    assert expected in changes and "train.epochs" not in changes  # a resumable change
    assert snapshot(run) == before


def test_every_changed_key_is_named(run, tmp_path, capsys):
    assert train(tmp_path, "run", "--resume", "optim.lr=0.01", "train.seed=3") == 1
    line = one_error_line(capsys)
    assert "optim.lr: 0.001 -> 0.01; train.seed: 0 -> 3" in line


def test_resumable_settings_may_change(run, tmp_path):
    changes = ["train.epochs=2", "data.num_workers=1", "train.checkpoint_every_steps=100"]
    assert train(tmp_path, "run", "--resume", *changes) == 0
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["train"]["epochs"] == 2 and saved["data"]["num_workers"] == 1
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 2


def test_compare_names_the_changed_keys_with_their_values(run):
    config = load_config(run / "config.yaml")
    changed = dataclasses.replace(config, optim=dataclasses.replace(config.optim, lr=0.01))
    with pytest.raises(ValueError, match=r"other settings \(optim\.lr: 0\.001 -> 0\.01\)"):
        check_saved_config(RunSpec("gdl", 0, changed))
