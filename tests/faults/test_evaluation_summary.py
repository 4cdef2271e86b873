"""``evaluate`` and ``evaluate-folder`` state the same facts with the same keys, and
``evaluate`` says which weights it scored (the checkpoint's epoch and step)."""

from __future__ import annotations

import json

import numpy as np
import torch

import boundaryloss
from boundaryloss.cli import main
from boundaryloss.data.io import write_nifti

#: The keys both summaries share, and what each command adds.
SHARED = {
    "written_by",
    "version",
    "num_cases",
    "spacing_unit",
    "fov",
    "missing",
    "empty",
    "lesion",
    "volume_difference",
    "confidence",
    "metrics",
    "pixel_level",
    "cases",
    "companions",  # the checksums of the files written with the CSV (lesions.csv, ...)
    "screening",  # with --lesion: pooled lesion scores per class
}
EVALUATE = {
    "checkpoint",
    "checkpoint_epoch",
    "checkpoint_global_step",
    "split",
    "data_root",
    "mirror",  # test-time mirroring used (the run's inference.mirror unless overridden)
}
EVALUATE_FOLDER = {"pred_dir", "ref_dir", "mask_dir", "ignore_label", "labels", "probabilities"}


def test_both_summaries_have_the_same_keys_for_the_same_facts(trained, tmp_path):
    run = trained.parents[1]
    out = tmp_path / "evaluation"
    args = ["evaluate", str(run), "--checkpoint", "last", "--output", str(out), "--lesion"]
    assert main(args) == 0
    evaluated = json.loads((out / "summary.json").read_text())
    ref = np.zeros((8, 8, 4), np.uint8)
    ref[2:5, 2:5, 1:3] = 1
    write_nifti(tmp_path / "pred" / "a.nii.gz", ref)
    write_nifti(tmp_path / "ref" / "a.nii.gz", ref)
    scores = tmp_path / "scores.csv"
    args = ["evaluate-folder", str(tmp_path / "pred"), str(tmp_path / "ref"), "--lesion"]
    assert main([*args, "--output", str(scores)]) == 0
    scored = json.loads(scores.with_suffix(".json").read_text())

    assert set(evaluated) == SHARED | EVALUATE
    assert set(scored) == SHARED | EVALUATE_FOLDER
    assert evaluated["written_by"] == "boundaryloss evaluate"
    assert scored["written_by"] == "boundaryloss evaluate-folder"
    assert scored["screening"].keys() == evaluated["screening"].keys() == {"1"}
    assert scored["screening"]["1"].keys() == evaluated["screening"]["1"].keys()
    for summary, unit in ((evaluated, "px"), (scored, "mm")):  # synthetic 2D run; NIfTI
        assert summary["version"] == boundaryloss.__version__
        assert summary["spacing_unit"] == unit
        assert summary["fov"] == {"applied": False, "num_cases": 0}
        assert summary["lesion"] == {
            "connectivity": "full (8 in 2D, 26 in 3D)",
            "match": "any",
            "f1": "wmh",
        }
        assert (summary["missing"], summary["empty"], summary["confidence"]) == (
            "inf",
            "perfect",
            0.95,
        )


def test_evaluate_records_the_epoch_of_the_weights_it_scored(trained, tmp_path):
    run = trained.parents[1]
    out = tmp_path / "evaluation"
    assert main(["evaluate", str(run), "--checkpoint", "last", "--output", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    saved = torch.load(trained, map_location="cpu", weights_only=True)
    assert summary["checkpoint"] == str(trained)
    assert summary["checkpoint_epoch"] == saved["epoch"] == 1  # the tiny run trains 1 epoch
    assert summary["checkpoint_global_step"] == saved["global_step"] > 0
