"""MONAI stays optional: the core imports without it, boundaryloss.monai says what to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

BLOCK_MONAI = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "monai" or name.startswith("monai."):
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
"""


def _run(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.run(
        [sys.executable, "-c", BLOCK_MONAI + code], capture_output=True, text=True, env=env
    )


def test_core_imports_without_monai_and_the_monai_module_names_the_extra():
    # One interpreter for both checks: starting one (torch import) is the slow part.
    result = _run(
        "import boundaryloss, boundaryloss.maps, boundaryloss.losses, boundaryloss.metrics\n"
        "assert not any(m == 'monai' or m.startswith('monai.') for m in sys.modules)\n"
        "print('core ok')\n"
        "try:\n"
        "    import boundaryloss.monai\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines == ["core ok", "boundaryloss.monai needs MONAI: pip install 'boundaryloss[monai]'"]
