"""``evaluate_run`` on a split whose cases measure in different units: the first case in
another unit than the first case's is refused as it is read, before the model predicts
it (not after predicting every case), and nothing is written."""

from __future__ import annotations

import pytest

from boundaryloss.cli import main
from boundaryloss.data.splits import load_splits
from boundaryloss.evaluation import evaluate_run as evaluate_module
from boundaryloss.evaluation.evaluate_run import evaluate_run
from boundaryloss.evaluation.predict import Predictor
from boundaryloss.training.engine import Trainer
from boundaryloss.training.run_dir import RunDirectory

MIXED = r"the cases' spacing is in different units \(mm, px\); distances in different units"


def snapshot(folder):
    """Every file under ``folder`` (hidden ones too) with its bytes; {} when absent."""
    if not folder.exists():
        return {}
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_case_in_another_unit_is_refused_before_it_is_predicted(tiny_config, monkeypatch, capsys):
    config = tiny_config("train.epochs=1", "data.val_fraction=0.3")
    Trainer(config).fit()
    run = config.run_dir
    val = load_splits(RunDirectory(run).splits)[0].val
    assert len(val) == 3  # the odd case is neither the first nor the last
    evaluate_run(run, checkpoint="last")  # synthetic cases, all in px: a complete evaluation
    before = snapshot(run / "evaluation")
    assert {p.name for p in before} == {"cases.csv", "summary.json", ".boundaryloss-files.json"}

    # The second validation case switched to mm, as a reader giving another unit would.
    cases = evaluate_module.build_cases(config.data, "train")
    mixed = [c.with_arrays(spacing_unit="mm") if c.case_id == val[1] else c for c in cases]
    monkeypatch.setattr(evaluate_module, "build_cases", lambda *args, **kwargs: mixed)
    predicted = []
    probabilities = Predictor.probabilities

    def spy(self, case):
        predicted.append(case.case_id)
        return probabilities(self, case)

    monkeypatch.setattr(Predictor, "probabilities", spy)
    for lesion in (False, True):  # with --lesion the volume metric is named before the loop
        with pytest.raises(ValueError, match=f"^{MIXED}"):
            evaluate_run(run, checkpoint="last", lesion=lesion)
        assert predicted == [val[0]]  # the case before the odd one, and no other
        predicted.clear()
    with pytest.raises(ValueError, match=f"^{MIXED}"):
        evaluate_run(run, checkpoint="last", output=run / "fresh")
    assert snapshot(run / "evaluation") == before  # neither file replaced, no temporaries
    assert not (run / "fresh").exists()

    capsys.readouterr()  # training's and the evaluations' output
    args = ["evaluate", str(run), "--checkpoint", "last", "--lesion"]
    assert main(args) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[:-1] == [f"[1/3] {val[0]}"]  # the progress line of the one predicted case
    assert err[-1].startswith("boundaryloss evaluate: error: the cases' spacing is in different")
    assert snapshot(run / "evaluation") == before
