"""Without the ``nnunet`` extra, the trainers and ``python -m boundaryloss.nnunet.run`` say
in one line which extra to install (simulated: imports of nnU-Net's packages blocked)."""

from __future__ import annotations

import importlib
import runpy
import sys

import pytest

INSTALL = 'pip install "boundaryloss[nnunet]"'


def block(monkeypatch, package: str) -> None:
    """Make ``import package`` (and its submodules) fail as if it were not installed, and
    drop this project's nnU-Net modules so that they are imported again."""
    for name in list(sys.modules):
        if name == package or name.startswith(f"{package}."):
            monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, package, None)
    integration = importlib.import_module("boundaryloss.nnunet")
    for name in ("trainers", "transforms", "loss", "run"):
        monkeypatch.delitem(sys.modules, f"boundaryloss.nnunet.{name}", raising=False)
        if hasattr(integration, name):  # restored afterwards, as sys.modules is
            monkeypatch.setattr(integration, name, getattr(integration, name))


@pytest.mark.parametrize(
    ("module", "package"),
    [
        ("trainers", "batchgeneratorsv2"),
        ("trainers", "nnunetv2"),
        ("transforms", "batchgeneratorsv2"),
        ("loss", "batchgeneratorsv2"),
        ("run", "batchgeneratorsv2"),
        ("run", "nnunetv2"),
    ],
)
def test_importing_the_integration_names_the_extra(monkeypatch, module, package):
    block(monkeypatch, package)
    with pytest.raises(ModuleNotFoundError) as caught:
        importlib.import_module(f"boundaryloss.nnunet.{module}")
    message = str(caught.value)
    assert message == (
        f"No module named {package!r}: the nnU-Net integration needs the nnunet extra: {INSTALL}"
    )
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_run_as_a_program_prints_one_line(monkeypatch):
    block(monkeypatch, "batchgeneratorsv2")
    monkeypatch.setattr(sys, "argv", ["run.py", "4", "3d_fullres", "0"])
    with pytest.raises(SystemExit) as caught:
        runpy.run_module("boundaryloss.nnunet.run", run_name="__main__")
    # SystemExit with a message: Python prints it on stderr, exit status 1, no traceback.
    assert caught.value.code == (
        "python -m boundaryloss.nnunet.run: error: No module named 'batchgeneratorsv2': the "
        f"nnU-Net integration needs the nnunet extra: {INSTALL}"
    )
