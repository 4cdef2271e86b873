"""A run's summary describes the whole run, across resumes."""

from __future__ import annotations

from .conftest import train


def _logged_seconds(run) -> float:
    import json

    lines = (run / "metrics.jsonl").read_text().splitlines()
    return sum(json.loads(line)["epoch_seconds"] for line in lines)


def test_resumed_run_reports_its_whole_training_time(tmp_path):
    # A finished run resumed with the same epochs trained nothing; its summary.json said
    # train_seconds ~1e-5 (this invocation only) instead of the run's training time.
    import json

    run = tmp_path / "run"
    assert train(tmp_path, "run", "train.epochs=2") == 0
    assert train(tmp_path, "run", "train.epochs=2", "--resume") == 0
    assert json.loads((run / "summary.json").read_text())["train_seconds"] >= _logged_seconds(run)
    assert train(tmp_path, "run", "train.epochs=3", "--resume") == 0
    assert json.loads((run / "summary.json").read_text())["train_seconds"] >= _logged_seconds(run)
