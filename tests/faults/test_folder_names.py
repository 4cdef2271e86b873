"""Names that become folders stay inside their output folder, and paths mean what a shell
means: a comparison named ``../x`` or ``/tmp/x``, ``output_dir=~/x``."""

from __future__ import annotations

import pytest
import yaml

from boundaryloss.cli import main
from boundaryloss.experiments import load_experiment
from boundaryloss.training.config import load_config

from .conftest import TINY, one_error_line

# --- the name of a comparison -----------------------------------------------------------


@pytest.mark.parametrize("name", ["../../escaped", "ABSOLUTE", "..", ""])
def test_a_comparison_name_is_one_folder_name(tmp_path, capsys, name):
    from tests.experiments.conftest import tiny_experiment

    if name == "ABSOLUTE":
        name = str(tmp_path / "absolute")
    output_dir = tmp_path / "a" / "b"
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(tiny_experiment(name=name, output_dir=str(output_dir))))
    assert main(["compare", "--config", str(path)]) == 1
    line = one_error_line(capsys)
    assert f"{path}: name: {name!r} is not a valid folder name" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["experiment.yaml"]


# --- ~ in paths of the configuration ----------------------------------------------------


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home folder under tmp_path, and a working folder elsewhere."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


def test_output_dir_with_a_tilde_is_in_the_home_folder(home, tmp_path):
    assert main(["train", "output_dir=~/runs", "name=run", *TINY]) == 0
    assert (home / "runs" / "run" / "checkpoints" / "last.pt").is_file()
    assert list((tmp_path / "work").iterdir()) == []  # no literal ./~


def test_paths_of_the_configuration_expand_a_tilde(home):
    config = load_config(None, ["output_dir=~/runs", "data.source=msd", "data.root=~/data"])
    assert (config.output_dir, config.data.root) == (f"{home}/runs", f"{home}/data")
    assert str(config.run_dir) == f"{home}/runs/run"
    assert load_config(None, ["output_dir=runs~"]).output_dir == "runs~"  # only a leading ~


def test_the_output_dir_of_an_experiment_expands_a_tilde(home, tmp_path):
    from tests.experiments.conftest import tiny_experiment

    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(tiny_experiment(output_dir="~/comparisons")))
    experiment = load_experiment(path)
    assert experiment.output == home / "comparisons" / "tiny"
    assert experiment.runs[0].run_dir == home / "comparisons" / "tiny" / "runs" / "gdl" / "seed0"
