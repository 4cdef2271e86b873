"""train / evaluate from the command line: one-line errors, exit codes, outputs."""

from __future__ import annotations

import json

from boundaryloss.cli import main

TINY = [
    "train.epochs=1",
    "data.synthetic.cases=8",
    "data.synthetic.shape=[40, 40]",
    "data.batch_size=4",
    "model.kwargs={base_channels: 4, depth: 2}",
    "train.progress=false",
    "train.figures=false",
]


def test_train_then_evaluate(tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text("name: cli\ndata:\n  val_fraction: 0.25\n")
    assert main(["train", "--config", str(config), f"output_dir={tmp_path}", *TINY]) == 0
    assert "best validation Dice" in capsys.readouterr().out
    assert main(["evaluate", str(tmp_path / "cli"), "--checkpoint", "last"]) == 0
    out = capsys.readouterr().out
    assert "2 cases" in out and "hd95 class 1" in out
    summary = json.loads((tmp_path / "cli" / "evaluation" / "summary.json").read_text())
    assert summary["num_cases"] == 2 and summary["missing"] == "inf"
    assert (tmp_path / "cli" / "evaluation" / "cases.csv").is_file()
    lesion_dir = tmp_path / "lesion"
    args = ["evaluate", str(tmp_path / "cli"), "--lesion", "--output", str(lesion_dir)]
    assert main([*args, "--checkpoint", "last"]) == 0
    out = capsys.readouterr().out
    assert "lesion_f1 class 1" in out
    # Synthetic 2D images: spacing in px, so the volume difference is a pixel count.
    assert "distances (hd, hd95, assd) in px; avd_voxels in voxels" in out
    assert "avd_voxels class 1" in out and "avd_ml" not in out
    summary = json.loads((lesion_dir / "summary.json").read_text())
    assert summary["lesion"]["f1"] == "wmh" and summary["volume_difference"] == "avd_voxels"


def test_bad_configuration_is_one_line(tmp_path, capsys):
    cases = [
        (["train", "train.epochs=x"], "train.epochs: expected an integer, got 'x'"),
        (["train", "data.bogus=1"], "unknown key data.bogus"),
        (["train", "--config", str(tmp_path / "nope.yaml")], "config file not found"),
        (["train", "data.source=msd", f"data.root={tmp_path / 'absent'}"], "does not exist"),
        (["train", "loss.terms=[{name: dicee}]"], "loss.terms[0].name: unknown 'dicee'"),
        (["train", "loss.terms=[{name: gdl, kwargs: {smoth: 1}}]"], "kwargs.smoth"),
        (["evaluate", str(tmp_path / "no-run")], "run directory not found"),
    ]
    for argv, message in cases:
        assert main([*argv, f"output_dir={tmp_path}"] if argv[0] == "train" else argv) == 1
        err = capsys.readouterr().err.strip()
        assert message in err, (argv, err)
        assert len(err.splitlines()) == 1


def test_options_may_follow_overrides(tmp_path):
    start = ["train", f"output_dir={tmp_path}", "name=mixed", *TINY[:3]]
    assert main([*start, "--overwrite", *TINY[3:]]) == 0
    assert main([*start, "--resume", *TINY[3:], "train.epochs=2"]) == 0
    assert "epochs: 2" in (tmp_path / "mixed" / "config.yaml").read_text()


def test_unknown_option_is_rejected(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["train", "a=1", "--bogus"])
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_run_directory_messages_name_the_options(tmp_path, capsys):
    argv = ["train", f"output_dir={tmp_path}", "name=taken", *TINY]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert "exists and is not empty; use --resume" in err and "--overwrite" in err
    assert main(["train", f"output_dir={tmp_path}", "name=fresh", "--resume", *TINY]) == 1
    assert "error: --resume: no checkpoint at" in capsys.readouterr().err
