"""Experiment YAMLs: resolved runs, and errors that name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from boundaryloss.config import ConfigError
from boundaryloss.experiments import load_experiment

REPO = Path(__file__).resolve().parents[2]


def test_runs_are_resolved(write_experiment, tmp_path):
    experiment = load_experiment(write_experiment(seeds=2))
    assert [(r.loss, r.seed) for r in experiment.runs] == [
        ("gdl", 0),
        ("gdl", 1),
        ("rrw", 0),
        ("rrw", 1),
    ]
    run = experiment.runs[3].config
    assert run.name == "seed1" and run.train.seed == 1
    assert run.run_dir == tmp_path / "tiny" / "runs" / "rrw" / "seed1"
    assert run.loss.terms[0].name == "region_wise" and run.data.split_seed == 0
    assert experiment.reference == "gdl"
    assert experiment.snapshot_epochs == [1, 2]


def test_seeds_and_output_override(write_experiment, tmp_path):
    experiment = load_experiment(write_experiment(), seeds=3, output=tmp_path / "elsewhere")
    assert len(experiment.runs) == 6
    assert experiment.runs[0].run_dir == tmp_path / "elsewhere" / "runs" / "gdl" / "seed0"


def test_base_from_a_run_yaml(write_experiment, tmp_path):
    import yaml

    from .conftest import TINY_BASE

    (tmp_path / "base.yaml").write_text(yaml.safe_dump(TINY_BASE))
    experiment = load_experiment(write_experiment(base="base.yaml"))
    assert experiment.runs[0].config.data.synthetic.shape == [32, 32]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"bogus": 1}, "unknown key bogus"),
        ({"seeds": "two"}, "seeds: expected an integer"),
        ({"seeds": 0}, "seeds: must be >= 1"),
        ({"reference": "dice"}, "reference: 'dice' is not a loss name"),
        ({"losses": [{"name": "gdl"}]}, "losses[0]: give exactly one of 'loss'"),
        (
            {"losses": [{"name": "a", "loss": {"terms": [{"name": "gdl", "wieght": 1}]}}]},
            "unknown key losses[0].loss.terms[0].wieght",
        ),
        (
            {"losses": [{"name": "gdl", "loss": {"terms": [{"name": "dicee"}]}}]},
            "losses[0] (gdl): loss.terms[0].name: unknown 'dicee'",
        ),
        (
            {
                "losses": [
                    {"name": "gdl", "loss": {}, "overrides": ["data.split_seed=3"]},
                    {"name": "rrw", "loss": {}},
                ]
            },
            "data.split_seed differs",
        ),
        (
            {
                "losses": [
                    {"name": "gdl", "loss": {}},
                    {"name": "rrw", "loss": {}, "overrides": ["train.selection_metric=aupr"]},
                ]
            },
            "losses[1].overrides: train.selection_metric must be the same for every loss",
        ),
        (
            {"losses": [{"name": "gdl", "loss": {}, "overrides": ["train.epoch=3"]}]},
            "losses[0] (gdl): unknown key train.epoch",
        ),
        ({"losses": [{"name": "a/b", "loss": {}}]}, "losses[0].name"),
        ({"diagnostics": {"epochs": [5]}}, "diagnostics.epochs: [5] outside 1..2"),
        ({"report": {"checkpoint": "first"}}, "report.checkpoint: expected one of"),
        ({"report": {"last_epoch": "often"}}, "report.last_epoch: expected true or false"),
        ({"base": "absent.yaml"}, "base: run configuration not found"),
        ({"losses": []}, "losses: at least one loss configuration is required"),
        (
            {"losses": [{"name": "gdl", "loss": {}}, {"name": "gdl", "loss": {}}]},
            "losses[1].name: duplicate name 'gdl'",
        ),
        ({"name": "a/b"}, "name: 'a/b' is not a valid folder name"),
        ({"report": {"alpha": 1.0}}, "report.alpha: must lie in (0, 1), got 1.0"),
        (
            {"report": {"convergence_fraction": 0}},
            "report.convergence_fraction: must lie in (0, 1], got 0",
        ),
        ({"report": {"overlay_cases": -1}}, "report.overlay_cases: must be >= 0, got -1"),
        ({"report": {"stability_epochs": 0}}, "report.stability_epochs: must be >= 1, got 0"),
        ({"report": {"n_permutations": 0}}, "report.n_permutations: must be >= 1, got 0"),
        ({"diagnostics": {"max_slices": 0}}, "diagnostics.max_slices: must be >= 1, got 0"),
    ],
)
def test_bad_experiment_names_the_key(write_experiment, changes, message):
    path = write_experiment(**changes)
    with pytest.raises(ConfigError) as error:
        load_experiment(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_seeds_given_apart_from_the_file_are_checked(write_experiment):
    path = write_experiment()
    with pytest.raises(ConfigError, match=r": seeds: must be >= 1, got 0$") as error:
        load_experiment(path, seeds=0)
    assert str(path) in str(error.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="experiment file not found"):
        load_experiment(tmp_path / "absent.yaml")


def test_cli_error_is_one_line(write_experiment, capsys):
    from boundaryloss.cli import main

    assert main(["compare", "--config", str(write_experiment(seeds=-1))]) == 1
    err = capsys.readouterr().err
    assert err.startswith("boundaryloss compare: error:") and "seeds" in err


def test_shipped_experiments_load():
    demo = load_experiment(REPO / "experiments" / "demo.yaml")
    assert demo.loss_names == ["gdl", "gdl+boundary", "rrw", "boundary"]
    assert demo.reference == "gdl"
    data = demo.runs[0].config.data.synthetic
    assert data.foreground_fraction < 0.01
    for path in sorted((REPO / "experiments").glob("*.yaml")):
        load_experiment(path)


def test_demo_command_defaults():
    from boundaryloss.cli import build_parser
    from boundaryloss.cli.demo import demo_config

    args = build_parser().parse_args(["demo"])
    assert args.output == "runs/demo" and args.threads == 1 and args.resume
    assert demo_config() == REPO / "experiments" / "demo.yaml"
    args = build_parser().parse_args(["compare", "--config", "x.yaml", "--no-resume"])
    assert args.output is None and args.threads is None and not args.resume


def test_loss_entries_can_name_complete_run_configs(tmp_path):
    run = tmp_path / "runs" / "ce.yaml"
    run.parent.mkdir()
    run.write_text(
        "data: {synthetic: {cases: 8, shape: [32, 32]}}\n"
        "loss: {terms: [{name: ce}]}\ntrain: {epochs: 3}\n"
    )
    experiment = tmp_path / "exp.yaml"
    experiment.write_text(
        "name: e\nbase: runs/ce.yaml\nlosses:\n  - {name: ce, config: runs/ce.yaml}\n"
        "  - {name: gdl, loss: {terms: [{name: gdl}]}}\n"
    )
    loaded = load_experiment(experiment)
    ce, gdl = loaded.runs_of("ce")[0].config, loaded.runs_of("gdl")[0].config
    assert ce.loss.terms[0].name == "ce" and ce.train.epochs == 3
    assert gdl.loss.terms[0].name == "gdl"
    experiment.write_text("name: e\nlosses:\n  - {name: both, config: runs/ce.yaml, loss: {}}\n")
    with pytest.raises(ConfigError, match=r"losses\[0\]: give exactly one of 'loss'"):
        load_experiment(experiment)


@pytest.mark.parametrize(
    "path",
    sorted(str(p) for p in (Path(__file__).parents[2] / "experiments").rglob("*.yaml")),
    ids=lambda p: Path(p).stem,
)
def test_every_shipped_experiment_loads(path):
    experiment = load_experiment(path)
    assert experiment.runs and experiment.reference in experiment.loss_names


def test_losses_subset_keeps_the_run_folders(write_experiment):
    path = write_experiment(seeds=2)
    full = load_experiment(path)
    subset = load_experiment(path, losses=["gdl"])
    assert subset.loss_names == ["gdl"] and subset.omitted_losses == ["rrw"]
    assert subset.reference == "gdl"
    assert [r.run_dir for r in subset.runs] == [r.run_dir for r in full.runs_of("gdl")]
    assert full.omitted_losses == []
    # the file's order is kept whatever the order asked
    assert load_experiment(path, losses=["rrw", "gdl"]).loss_names == ["gdl", "rrw"]


@pytest.mark.parametrize(
    ("losses", "message"),
    [
        (["gdl", "nope"], r"--losses: 'nope' is not a loss of .*; choose from \['gdl', 'rrw'\]"),
        (["rrw"], "--losses: keep the reference loss 'gdl'"),
        (["gdl", "gdl"], "--losses: a name is given twice"),
    ],
)
def test_losses_subset_errors(write_experiment, losses, message):
    with pytest.raises(ConfigError, match=message):
        load_experiment(write_experiment(), losses=losses)


def test_losses_subset_reference_defaults_to_the_first_loss(write_experiment):
    path = write_experiment(reference=None)
    with pytest.raises(ConfigError, match="keep the reference loss 'gdl'"):
        load_experiment(path, losses=["rrw"])


def test_cli_losses_error_is_one_line(write_experiment, capsys):
    from boundaryloss.cli import main

    assert main(["compare", "--config", str(write_experiment()), "--losses", "nope"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("boundaryloss compare: error: ") and "--losses: 'nope'" in err
    assert len(err.strip().splitlines()) == 1


def test_losses_subset_errors_name_the_files_entry(write_experiment):
    """Under --losses an error still points at the entry of the file, not of the subset."""
    losses = [
        {"name": "gdl", "loss": {}},
        {"name": "rrw", "loss": {}},
        {"name": "late", "loss": {}, "overrides": ["train.epochs=5"]},
    ]
    path = write_experiment(losses=losses)
    with pytest.raises(ConfigError, match=r"losses\[2\]\.overrides: train\.epochs must be"):
        load_experiment(path, losses=["gdl", "late"])
