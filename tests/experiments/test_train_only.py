"""``compare --train-only``: train a comparison's runs in several processes side by side."""

from __future__ import annotations

import contextlib
import io

from boundaryloss._lock import DirectoryLock
from boundaryloss.cli import main
from boundaryloss.experiments import load_experiment, train_runs
from boundaryloss.experiments import runner as runner_module
from boundaryloss.training.run_dir import RunDirectory


def _main(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_train_only_trains_a_subset_without_the_reference_and_writes_no_report(
    write_experiment, tmp_path
):
    path = write_experiment()
    code, out, err = _main(
        "compare", "--config", str(path), "--train-only", "--losses", "rrw", "--threads", "1"
    )
    assert code == 0, err
    assert "1 run(s): 1 trained, 0 resumed, 0 finished earlier, 0 taken by another process" in out
    assert f"report: boundaryloss compare --config {path}" in out
    output = tmp_path / "tiny"
    assert RunDirectory(output / "runs" / "rrw" / "seed0").is_finished()
    assert not (output / "runs" / "gdl").exists()
    assert not (output / "report.md").exists() and not (output / "cases.csv").exists()

    # A report still needs the reference among --losses ...
    code, _, err = _main("compare", "--config", str(path), "--losses", "rrw")
    assert code == 1 and "keep the reference loss 'gdl'" in err
    # ... and the full comparison reuses the run trained alone.
    code, _, err = _main("compare", "--config", str(path), "--threads", "1")
    assert code == 0, err
    assert "rrw seed 0: finished earlier, skipped" in err
    assert "gdl seed 0: training ->" in err
    assert (output / "report.md").is_file()


def test_a_run_another_process_trains_is_passed_over(write_experiment, tmp_path):
    """The lock of the first run is held (as by a second ``compare --train-only``): the
    run is passed over untouched and the other one trains; the plain compare fails."""
    experiment = load_experiment(write_experiment())
    busy, free = experiment.runs
    lines: list[str] = []
    with DirectoryLock(busy.run_dir, what="run directory"):
        outcomes = train_runs(experiment, log=lines.append)
        assert [o.action for o in outcomes] == ["busy", "trained"]
        assert any("taken by another process, skipped" in line for line in lines)
        assert not busy.run_dir.exists() and not RunDirectory(busy.run_dir).staging.exists()
        assert RunDirectory(free.run_dir).is_finished()

        code, out, err = _main("compare", "--config", str(experiment.path), "--threads", "1")
        assert code == 1 and "in use" in err.lower() and "Traceback" not in err

    code, out, _ = _main("compare", "--config", str(experiment.path), "--train-only")
    assert code == 0
    assert "2 run(s): 1 trained, 0 resumed, 1 finished earlier, 0 taken by another process" in out


def test_a_run_finished_by_another_process_meanwhile_is_not_replaced(write_experiment, monkeypatch):
    """The run looked new when its state was read, and another process finished it
    before this one took its lock: side by side, it must be kept, not retrained."""
    experiment = load_experiment(write_experiment(seeds=1))
    assert [o.action for o in train_runs(experiment, log=lambda _: None)] == [
        "trained",
        "trained",
    ]
    first = experiment.runs[0]
    summary = RunDirectory(first.run_dir).summary
    before = summary.read_bytes(), summary.stat().st_mtime_ns
    real_state = runner_module.run_state
    seen: set[str] = set()

    def stale_state(spec):  # "new" the first time each run is looked at
        if spec.loss not in seen:
            seen.add(spec.loss)
            return "new"
        return real_state(spec)

    monkeypatch.setattr(runner_module, "run_state", stale_state)
    outcomes = train_runs(experiment, log=lambda _: None)
    assert [o.action for o in outcomes] == ["busy", "busy"]
    assert (summary.read_bytes(), summary.stat().st_mtime_ns) == before
