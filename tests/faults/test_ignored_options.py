"""An option that would be silently ignored is refused: a dataset root or ``--data``
with synthetic data."""

from __future__ import annotations

from boundaryloss.cli import main

from .conftest import one_error_line, snapshot, train


def test_a_dataset_root_with_synthetic_data_is_refused(tmp_path, capsys):
    # data.root was silently ignored: the run trained on synthetic data, not on the root.
    assert train(tmp_path / "out", "run", f"data.root={tmp_path}") == 1
    assert "data.root:" in one_error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_evaluate_data_of_a_synthetic_run_is_refused(trained, tmp_path, capsys):
    # --data was silently ignored: the synthetic cases were scored and reported as if
    # they came from the given root.
    run = trained.parent.parent
    before = snapshot(run)
    assert (
        main(["evaluate", str(run), "--data", str(tmp_path), "--output", str(tmp_path / "e")]) == 1
    )
    assert f"--data {tmp_path}:" in one_error_line(capsys)
    assert snapshot(run) == before and not (tmp_path / "e").exists()
