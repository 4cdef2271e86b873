"""The value rules of configuration fields: what each refuses, and its message."""

from __future__ import annotations

import math
import re

import pytest

from boundaryloss.config import ConfigError
from boundaryloss.config.rules import at_least, folder_name, in_interval, positive, seed


@pytest.mark.parametrize("name", ["run", "seed0", "gdl+boundary", "a.b", "..x"])
def test_valid_folder_names(name):
    folder_name("name", name)


@pytest.mark.parametrize("name", ["", " ", ".", "..", "a/b", "../x", "/abs", "a\0b"])
def test_invalid_folder_names(name):
    with pytest.raises(ConfigError, match=r"^name: .* single, non-empty folder name"):
        folder_name("name", name)


@pytest.mark.parametrize(
    ("interval", "inside", "outside"),
    [
        ("[0, 1)", (0, 0.5), (1, -0.1, math.nan)),
        ("(0, 1]", (1, 0.5), (0, 1.5)),
        ("(0, 1)", (0.5,), (0, 1)),
        ("[0, 1]", (0, 1), (-1e-9, 1 + 1e-9)),
    ],
)
def test_intervals_keep_or_leave_their_bounds(interval, inside, outside):
    for value in inside:
        in_interval("x", value, interval)
    for value in outside:
        with pytest.raises(ConfigError, match="^x: must lie in " + re.escape(interval)):
            in_interval("x", value, interval)


def test_bounds_and_seeds():
    at_least("n", None, 1, optional=True)
    with pytest.raises(ConfigError, match=r"^n: must be >= 1 \(or null\), got 0$"):
        at_least("n", 0, 1, optional=True)
    with pytest.raises(ConfigError, match=r"^n: must be >= 1, got None$"):
        at_least("n", None, 1)
    with pytest.raises(ConfigError, match=r"^lr: must be a finite number > 0, got nan$"):
        positive("lr", math.nan)
    seed("seed", 2**32 - 1)
    with pytest.raises(ConfigError, match=r"^seed: must lie in \[0, 2\*\*32\), got 4294967296$"):
        seed("seed", 2**32)
