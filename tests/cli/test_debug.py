"""``--debug`` and ``BOUNDARYLOSS_DEBUG=1``: the full traceback instead of the one line."""

from __future__ import annotations

import pytest

from boundaryloss.cli import main


@pytest.fixture
def failing(tmp_path):
    """A command that fails with a user error (a missing folder)."""
    return ["evaluate-folder", str(tmp_path / "missing"), str(tmp_path)]


def test_without_debug_one_line(failing, capsys, monkeypatch):
    monkeypatch.delenv("BOUNDARYLOSS_DEBUG", raising=False)
    assert main(failing) == 1
    err = capsys.readouterr().err
    assert err == f"boundaryloss evaluate-folder: error: PRED_DIR: not a directory: {failing[1]}\n"


def test_debug_flag_prints_the_traceback(failing, capsys, monkeypatch):
    monkeypatch.delenv("BOUNDARYLOSS_DEBUG", raising=False)
    assert main(["--debug", *failing]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert "evaluate_folder.py" in err  # where it was raised
    assert err.endswith(f"NotADirectoryError: PRED_DIR: not a directory: {failing[1]}\n")


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_environment_variable_prints_the_traceback(failing, capsys, monkeypatch, value):
    monkeypatch.setenv("BOUNDARYLOSS_DEBUG", value)
    assert main(failing) == 1
    assert capsys.readouterr().err.startswith("Traceback (most recent call last):")


@pytest.mark.parametrize("value", ["0", ""])
def test_environment_variable_off(failing, capsys, monkeypatch, value):
    monkeypatch.setenv("BOUNDARYLOSS_DEBUG", value)
    assert main(failing) == 1
    assert "Traceback" not in capsys.readouterr().err
