"""The shared argument checks: each rule and its message, for NumPy and torch inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from boundaryloss._validation import (
    all_finite,
    check_integral,
    check_non_negative,
    check_not_empty,
    check_number,
    check_one_of,
    check_spacing,
    check_spatial_ndim,
    is_integral,
)


def test_check_one_of():
    assert check_one_of("mean", ("none", "mean"), "reduction") == "mean"
    assert check_one_of(None, ("softmax", None), "activation") is None
    with pytest.raises(ValueError, match=r"reduction must be one of \('none', 'mean'\), got 'x'"):
        check_one_of("x", ("none", "mean"), "reduction")


@pytest.mark.parametrize("value", [0, 0.0, 2, 1.5, np.float32(3.0)])
def test_check_non_negative_accepts(value):
    assert check_non_negative(value, "alpha") == float(value)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (-1.0, "alpha must be finite and non-negative, got -1.0"),
        (math.inf, "alpha must be finite and non-negative, got inf"),
        (math.nan, "alpha must be finite and non-negative, got nan"),
        (True, "alpha must be a non-negative number, got True"),
        ("1", "alpha must be a non-negative number, got '1'"),
    ],
)
def test_check_non_negative_refuses(value, match):
    with pytest.raises(ValueError, match=match):
        check_non_negative(value, "alpha")


def test_check_number():
    assert check_number(-2, "start") == -2.0
    for bad in (math.inf, math.nan, None, False):
        with pytest.raises(ValueError, match="start must be a finite number"):
            check_number(bad, "start")


@pytest.mark.parametrize("convert", [np.asarray, torch.as_tensor], ids=["numpy", "torch"])
def test_integral_values(convert):
    assert is_integral(convert([0.0, 2.0, -1.0]))
    assert is_integral(convert([0, 3]))
    assert not is_integral(convert([0.0, 0.5]))
    assert not is_integral(convert([0.0, math.nan]))
    check_integral(convert([1.0, 2.0]), "label")
    with pytest.raises(ValueError, match=r"label is a float array with non-integral values"):
        check_integral(convert([1.0, 2.5]), "label")
    with pytest.raises(ValueError, match="label contains NaN or inf"):
        check_integral(convert([1.0, math.inf]), "label")


def test_empty_axes():
    check_spatial_ndim((4, 5), "label")
    with pytest.raises(ValueError, match=r"label has a zero-size spatial axis, got .*\(4, 0\)"):
        check_spatial_ndim((4, 0), "label")
    with pytest.raises(ValueError, match=r"logits has an empty batch axis \(size 0\)"):
        check_not_empty(0, "logits", "batch", (0, 2, 4, 4))


def test_spacing_limits_follow_the_dtype_of_the_distances():
    # float32: squared distances must stay normal numbers below 3.4e38.
    assert check_spacing(1e18, 2, shape=(8, 8)) == (1e18, 1e18)
    assert check_spacing(2e-19, 2, shape=(8, 8)) == (2e-19, 2e-19)
    for spacing in (1e19, 5e-20):
        with pytest.raises(ValueError, match="unrepresentable in float32"):
            check_spacing(spacing, 2, shape=(8, 8))
    # float64 holds far more, and without a shape only positivity is checked.
    assert check_spacing(1e19, 2, shape=(8, 8), dtype=np.float64) == (1e19, 1e19)
    assert check_spacing(1e300, 2) == (1e300, 1e300)
    with pytest.raises(ValueError, match="positive and finite"):
        check_spacing((1.0, 0.0), 2)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_all_finite_equals_isfinite_all(dtype):
    rng = np.random.default_rng(0)
    for trial in range(200):
        values = torch.from_numpy(rng.normal(size=(3, 2, 7, 5)) * 10.0 ** rng.integers(-3, 4))
        values = values.to(dtype)
        bad = rng.integers(0, 4)
        for _ in range(bad):
            index = tuple(int(rng.integers(0, n)) for n in values.shape)
            values[index] = float(rng.choice([math.nan, math.inf, -math.inf]))
        assert all_finite(values) == bool(torch.isfinite(values).all()), (trial, bad)


def test_all_finite_edge_cases():
    largest = torch.finfo(torch.float32).max
    # finite values whose sum overflows: the slow path must still say finite
    assert all_finite(torch.tensor([largest, largest, -1.0]))
    assert all_finite(torch.full((1000,), 60000.0, dtype=torch.float16))
    assert not all_finite(torch.tensor([math.inf, -math.inf]))  # sum is nan
    assert not all_finite(torch.tensor([largest, math.nan]))
    assert not all_finite(torch.tensor([1.0, 2.0])[None].expand(3, 2).clone().fill_(math.inf))
    assert all_finite(torch.zeros(0))
    assert all_finite(torch.tensor([3, -2]))  # integers and bools are always finite
    assert all_finite(torch.tensor([True]))
    strided = torch.randn(4, 6)[:, ::2]
    strided[1, 1] = math.nan
    assert not all_finite(strided)
