"""The cached evaluation of a run is redone when it predates fields of view."""

from __future__ import annotations

import json

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
