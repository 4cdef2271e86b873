"""Which checkpoints a run writes, and when."""

from __future__ import annotations

from boundaryloss.training.checkpoint_policy import CheckpointPolicy


def test_epoch_end_writes_last_best_on_improvement_and_snapshots():
    policy = CheckpointPolicy(snapshot_epochs=(2,))
    assert policy.after_epoch(1, 0.5) == ["last.pt", "best.pt"]
    assert policy.after_epoch(2, 0.4) == ["last.pt", "epoch0002.pt"]
    assert policy.after_epoch(3, None) == ["last.pt"]  # not validated
    assert policy.after_epoch(4, 0.6) == ["last.pt", "best.pt"]
    assert policy.best_score == 0.6


def test_steps():
    assert [s for s in range(1, 8) if CheckpointPolicy(every_steps=3).after_step(s)] == [3, 6]
    assert not any(CheckpointPolicy().after_step(s) for s in range(1, 8))
