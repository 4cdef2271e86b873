"""Fixtures shared by the data tests."""

from __future__ import annotations

from pathlib import Path

import pytest

#: ``<repo>/../shared/data``: the real datasets described in its README.md (read-only).
SHARED_DATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data folder; the test is skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared real data not found at {SHARED_DATA} (see the project README)")
    return SHARED_DATA
