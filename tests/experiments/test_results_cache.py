"""The cached evaluation of a run is redone when it predates fields of view, or the
volume difference's unit, or when its summary belongs to another CSV."""

from __future__ import annotations

import hashlib
import json
import os

from boundaryloss.experiments.results import _evaluation_is_current


def test_evaluation_without_fov_field_is_redone(tmp_path):
    checkpoint = tmp_path / "best.pt"
    checkpoint.write_bytes(b"weights")
    (tmp_path / "cases.csv").write_text("case\n")
    summary = {"checkpoint": str(checkpoint), "missing": "inf"}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    assert not _evaluation_is_current(tmp_path, checkpoint)
    summary["fov"] = {"applied": True, "num_cases": 2}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    assert _evaluation_is_current(tmp_path, checkpoint)


def test_lesion_evaluation_with_a_volume_in_ml_of_pixels_is_redone(tmp_path):
    """A lesion evaluation written before the volume difference followed the spacing
    unit is redone when its cases are in px (its ``avd_ml`` came from pixel widths) or
    do not say; one in mm is kept, and so is any that records its volume difference."""
    checkpoint = tmp_path / "best.pt"
    checkpoint.write_bytes(b"weights")
    (tmp_path / "cases.csv").write_text("case\n")
    (tmp_path / "lesions.csv").write_text("case\n")
    (tmp_path / "score_histograms.csv").write_text("case\n")
    base = {
        "checkpoint": str(checkpoint),
        "missing": "inf",
        "fov": {},
        "lesion": True,
        "pixel_level": {"1": {"aupr": 0.5}},
    }
    expected = [
        ({"spacing_unit": "px"}, False),
        ({}, False),
        ({"spacing_unit": "mm"}, True),
        ({"spacing_unit": "px", "volume_difference": "avd_voxels"}, True),
        ({"spacing_unit": "mm", "volume_difference": None}, True),
    ]
    for fields, current in expected:
        (tmp_path / "summary.json").write_text(json.dumps({**base, **fields}))
        assert _evaluation_is_current(tmp_path, checkpoint, lesion=True) is current, fields
    # Without lesion metrics there is no volume difference to be wrong.
    (tmp_path / "summary.json").write_text(json.dumps({**base, "lesion": False}))
    assert _evaluation_is_current(tmp_path, checkpoint, lesion=False)


def test_a_summary_of_another_csv_is_redone(tmp_path):
    """A kill between the renames of a pair leaves a new cases.csv beside the old
    summary (or the other way round): the recorded checksum tells."""
    checkpoint = tmp_path / "best.pt"
    checkpoint.write_bytes(b"weights")
    (tmp_path / "cases.csv").write_text("case\nnew\n")
    summary = {"checkpoint": str(checkpoint), "missing": "inf", "fov": {}, "lesion": None}
    old = {"file": "cases.csv", "sha256": hashlib.sha256(b"case\nold\n").hexdigest()}
    (tmp_path / "summary.json").write_text(json.dumps({**summary, "cases": old}))
    assert not _evaluation_is_current(tmp_path, checkpoint)
    new = {"file": "cases.csv", "sha256": hashlib.sha256(b"case\nnew\n").hexdigest()}
    (tmp_path / "summary.json").write_text(json.dumps({**summary, "cases": new}))
    assert _evaluation_is_current(tmp_path, checkpoint)
    # lesion: the options in current summaries, a bool in older ones
    lesion = {"connectivity": "full (8 in 2D, 26 in 3D)", "match": "any", "f1": "wmh"}
    current = {**summary, "cases": new, "lesion": lesion, "volume_difference": "avd_ml"}
    current["pixel_level"] = {"1": {"dice": 0.5, "aupr": 0.4}}
    (tmp_path / "summary.json").write_text(json.dumps(current))
    (tmp_path / "lesions.csv").write_text("case\n")
    (tmp_path / "score_histograms.csv").write_text("case\n")
    assert _evaluation_is_current(tmp_path, checkpoint, lesion=True)
    assert not _evaluation_is_current(tmp_path, checkpoint, lesion=False)


def test_lesion_evaluation_without_the_lesion_list_or_aupr_is_redone(tmp_path):
    """The lesion report reads lesions.csv and the pooled AUPR: a lesion evaluation
    written before either existed, or with a list older than the checkpoint, is redone."""
    checkpoint = tmp_path / "best.pt"
    checkpoint.write_bytes(b"weights")
    (tmp_path / "cases.csv").write_text("case\n")
    summary = {
        "checkpoint": str(checkpoint),
        "missing": "inf",
        "fov": {},
        "lesion": True,
        "volume_difference": "avd_voxels",
        "pixel_level": {"1": {"dice": 0.5, "aupr": 0.4}, "2": {"dice": 0.5, "aupr": 0.3}},
    }
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    assert not _evaluation_is_current(tmp_path, checkpoint, lesion=True)  # no lesions.csv
    (tmp_path / "lesions.csv").write_text("case\n")
    assert not _evaluation_is_current(tmp_path, checkpoint, lesion=True)  # no histograms
    (tmp_path / "score_histograms.csv").write_text("case\n")
    assert _evaluation_is_current(tmp_path, checkpoint, lesion=True)
    del summary["pixel_level"]["2"]["aupr"]
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    assert not _evaluation_is_current(tmp_path, checkpoint, lesion=True)
    del summary["pixel_level"]
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    assert not _evaluation_is_current(tmp_path, checkpoint, lesion=True)
    summary["pixel_level"] = {"1": {"dice": 0.5, "aupr": 0.4}}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    assert _evaluation_is_current(tmp_path, checkpoint, lesion=True)
    later = (tmp_path / "lesions.csv").stat().st_mtime + 10
    os.utime(checkpoint, (later, later))
    os.utime(tmp_path / "cases.csv", (later, later))
    assert not _evaluation_is_current(tmp_path, checkpoint, lesion=True)  # an older list


def test_a_lesion_list_older_than_its_pair_is_redone(tmp_path):
    """A kill after the summary and cases.csv were renamed, before lesions.csv, leaves
    another evaluation's lesion list beside the pair (an ``evaluate --split all`` of the
    same checkpoint, say): the summary's checksum of lesions.csv tells, so the report
    never reads the wrong lesions."""
    checkpoint = tmp_path / "best.pt"
    checkpoint.write_bytes(b"weights")
    (tmp_path / "cases.csv").write_text("case\n")
    (tmp_path / "lesions.csv").write_text("case,lesion\nother,1\n")
    (tmp_path / "score_histograms.csv").write_text("case\n")
    summary = {
        "checkpoint": str(checkpoint),
        "missing": "inf",
        "fov": {},
        "lesion": True,
        "volume_difference": "avd_voxels",
        "pixel_level": {"1": {"aupr": 0.4}},
        "cases": {"file": "cases.csv", "sha256": hashlib.sha256(b"case\n").hexdigest()},
        "companions": {
            "lesions.csv": hashlib.sha256(b"case,lesion\nmine,1\n").hexdigest(),
            "score_histograms.csv": hashlib.sha256(b"case\n").hexdigest(),
        },
    }
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    assert not _evaluation_is_current(tmp_path, checkpoint, lesion=True)
    (tmp_path / "lesions.csv").write_text("case,lesion\nmine,1\n")
    assert _evaluation_is_current(tmp_path, checkpoint, lesion=True)
    (tmp_path / "score_histograms.csv").write_text("case\nedited\n")  # or any other file
    assert not _evaluation_is_current(tmp_path, checkpoint, lesion=True)
