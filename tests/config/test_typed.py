"""Typed dataclass loading: keys, types and overrides, with errors naming the key path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from boundaryloss.config import ConfigError, apply_overrides, from_dict, to_dict


@dataclass
class Inner:
    name: str
    weight: float = 1.0
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outer:
    epochs: int = 10
    mode: Literal["a", "b"] = "a"
    size: tuple[int, ...] = (8, 8)
    betas: tuple[float, float] = (0.9, 0.99)
    spacing: list[float] | None = None
    flag: bool = False
    terms: list[Inner] = field(default_factory=list)
    inner: Inner = field(default_factory=lambda: Inner("x"))


def test_round_trip_and_conversion():
    data = {
        "epochs": 3,
        "size": [4, 5, 6],
        "betas": [0.5, 1],
        "terms": [{"name": "gdl"}, {"name": "boundary", "weight": 0.5, "kwargs": {"a": [1]}}],
        "inner": {"name": "y"},
    }
    cfg = from_dict(Outer, data)
    assert cfg.size == (4, 5, 6) and cfg.betas == (0.5, 1.0) and isinstance(cfg.betas[1], float)
    assert cfg.terms[1] == Inner("boundary", 0.5, {"a": [1]})
    assert from_dict(Outer, to_dict(cfg)) == cfg


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"epoch": 3}, r"unknown key epoch; valid keys: betas, epochs"),
        ({"inner": {"nmae": "x"}}, r"unknown key inner\.nmae"),
        ({"epochs": "3"}, r"epochs: expected an integer, got '3'"),
        ({"epochs": True}, r"epochs: expected an integer"),
        ({"mode": "c"}, r"mode: expected one of \['a', 'b'\], got 'c'"),
        ({"betas": [1, 2, 3]}, r"betas: expected 2 values"),
        ({"terms": [{"weight": 1}]}, r"missing required key terms\[0\]\.name"),
        ({"terms": [{"name": 1}]}, r"terms\[0\]\.name: expected a string"),
        ({"flag": "yes"}, r"flag: expected true or false"),
        ({"spacing": ["a"]}, r"spacing"),
    ],
)
def test_errors_name_the_key(data, match):
    with pytest.raises(ConfigError, match=match):
        from_dict(Outer, data)


def test_overrides():
    data = {"terms": [{"name": "gdl"}]}
    apply_overrides(data, ["epochs=7", "inner.name=z", "terms.0.weight=0.25", "size=[2, 3]"])
    cfg = from_dict(Outer, data)
    assert cfg.epochs == 7 and cfg.inner.name == "z" and cfg.terms[0].weight == 0.25
    assert cfg.size == (2, 3)
    with pytest.raises(ConfigError, match=r"key\.path=value"):
        apply_overrides({}, ["epochs"])
    with pytest.raises(ConfigError, match="not an index"):
        apply_overrides({"terms": []}, ["terms.3.weight=1"])
