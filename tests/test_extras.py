"""What each extra installs: the core alone, the train extra the CLI names, bench's imports."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from boundaryloss.cli import TRAIN_EXTRA

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement (PEP 503)."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement).group()).lower()


def _installs(extra: str) -> set[str]:
    """Distributions ``pip install boundaryloss[extra]`` asks for: the core, the extra and
    the extras it names (``boundaryloss[train]``)."""
    names = {_name(r) for r in PROJECT["dependencies"]}
    for requirement in PROJECT["optional-dependencies"][extra]:
        if _name(requirement) == "boundaryloss":
            inner = re.search(r"\[(.*)\]", requirement).group(1)
            for other in inner.split(","):
                names |= _installs(other.strip())
        else:
            names.add(_name(requirement))
    return names


def test_core_is_torch_numpy_scipy_edt():
    assert {_name(r) for r in PROJECT["dependencies"]} == {"torch", "numpy", "scipy", "edt"}


def test_cli_names_the_train_extra_as_declared():
    declared = {_name(r) for r in PROJECT["optional-dependencies"]["train"]}
    assert {_name(d) for d in TRAIN_EXTRA.values()} == declared


def test_test_extra_includes_the_train_extra():
    assert _installs("train") <= _installs("test")


def test_bench_extra_lists_every_module_bench_imports():
    local = {path.stem for path in (ROOT / "bench").glob("*.py")} | {"bench", "tests"}
    imported = set()
    for path in (ROOT / "bench").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.partition(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - local - {"boundaryloss"}
    assert {"monai", "medpy", "nibabel"} <= third_party  # the scan sees the imports
    distributions = packages_distributions()
    bench = _installs("bench")
    missing = {
        module
        for module in third_party
        if not {_name(d) for d in distributions.get(module, [])} & bench
    }
    assert not missing, f"bench imports {sorted(missing)}, not in the bench extra"
