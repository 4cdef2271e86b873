"""A run without a progress bar still says how it goes: one line per epoch."""

from __future__ import annotations

import re

from .conftest import train


def test_one_line_per_epoch_without_progress(tmp_path, capsys):
    assert train(tmp_path, "run", "train.epochs=3", "train.val_every=2") == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("epoch")]
    assert len(lines) == 3
    for epoch, line in enumerate(lines, start=1):
        assert re.match(rf"epoch {epoch}/3 \| loss \d+\.\d{{4}} \| ", line), line
        assert line.endswith("s")
    assert "val Dice" not in lines[0] and "val Dice" in lines[1] and "val Dice" in lines[2]
