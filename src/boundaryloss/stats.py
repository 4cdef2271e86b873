"""Statistics for comparing segmentation methods over a dataset of cases.

* :func:`paired_permutation_test` — the Region-wise loss paper's significance test: paired
  per-case scores, random sign flips of the per-case differences, statistic
  ``|mean difference|``. Exact (all ``2**n`` sign patterns) when ``n_permutations`` allows,
  as :func:`scipy.stats.permutation_test` does.
* :func:`bootstrap_ci` — percentile bootstrap confidence interval of a mean.
* :func:`empirical_cdf` — the empirical distribution function (the RW paper's convergence
  figure plots it over cases).

Inputs are 1-D array-likes (lists, numpy arrays, torch tensors) of finite values: a missed
structure scored ``inf`` must be given a finite value (e.g. ``missing="diagonal"``) or
tested on a score such as Dice, since a mean with ``inf`` carries no information.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
import torch

#: Largest number of random signs / resample indices held in memory at once.
_CHUNK_ELEMENTS = 1 << 22


class PermutationTestResult(NamedTuple):
    """Result of :func:`paired_permutation_test`.

    Attributes:
        statistic: observed ``|mean(a - b)|``.
        mean_difference: observed ``mean(a - b)`` (its sign says which method is higher).
        pvalue: probability, under random sign flips, of a statistic at least as large.
        n_permutations: sign patterns evaluated (``2**n`` when exact).
        exact: whether every sign pattern was enumerated.
    """

    statistic: float
    mean_difference: float
    pvalue: float
    n_permutations: int
    exact: bool


class BootstrapCI(NamedTuple):
    """Result of :func:`bootstrap_ci`: the sample mean and its confidence interval."""

    mean: float
    low: float
    high: float
    confidence: float


def _as_1d(values, name: str) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a 1-D sequence of numbers: {error}") from None
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must contain only finite values (no NaN or inf)")
    return array


def _check_count(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


def _validate_permutation_args(a, b, n_permutations: int) -> tuple[np.ndarray, np.ndarray, int]:
    a_np, b_np = _as_1d(a, "a"), _as_1d(b, "b")
    if a_np.shape != b_np.shape:
        raise ValueError(
            f"a and b must be paired (same length), got lengths {a_np.size} and {b_np.size}"
        )
    return a_np, b_np, _check_count(n_permutations, "n_permutations")


def paired_permutation_test(
    a,
    b,
    n_permutations: int = 10000,
    seed: int | np.random.Generator | None = None,
) -> PermutationTestResult:
    """Paired permutation test of ``mean(a - b) == 0`` with statistic ``|mean(a - b)|``.

    Convention:
        Under the null hypothesis the two methods are exchangeable within a case, so each
        per-case difference ``a_i - b_i`` is equally likely to have either sign. The p-value
        is the share of sign patterns whose ``|mean|`` reaches the observed one (a relative
        tolerance of ``100 * eps`` absorbs rounding, as in scipy). When ``2**n`` is at most
        ``n_permutations`` every pattern is enumerated and the p-value is exact; otherwise
        ``n_permutations`` random patterns are drawn and ``p = (k + 1) / (n_permutations +
        1)``. This is ``scipy.stats.permutation_test((a, b), statistic,
        permutation_type="samples", alternative="greater")`` with ``statistic = |mean(x -
        y)|``, vectorised.

    Args:
        a: per-case scores of method A (e.g. Dice), 1-D, finite.
        b: per-case scores of method B on the same cases, same length.
        n_permutations: number of random sign patterns (or the budget for exact
            enumeration).
        seed: seed or ``numpy.random.Generator`` for reproducible random patterns.

    Returns:
        A :class:`PermutationTestResult`.

    Raises:
        ValueError: ``a`` and ``b`` of different lengths, empty, not 1-D or not finite, or
            ``n_permutations`` not a positive int.

    Example:
        >>> paired_permutation_test([0.9, 0.8, 0.85], [0.7, 0.75, 0.8]).pvalue
        0.25
    """
    a_np, b_np, n_permutations = _validate_permutation_args(a, b, n_permutations)
    diff = a_np - b_np
    n = diff.size
    mean_difference = float(np.mean(diff))
    observed = abs(mean_difference)
    threshold = observed - abs(100 * np.finfo(np.float64).eps * observed)

    if n < 63 and (1 << n) <= n_permutations:
        total = 1 << n
        count = 0
        rows = max(1, _CHUNK_ELEMENTS // n)
        bits = np.arange(n, dtype=np.int64)
        for start in range(0, total, rows):
            codes = np.arange(start, min(start + rows, total), dtype=np.int64)
            signs = 1.0 - 2.0 * ((codes[:, None] >> bits) & 1)
            count += int(np.count_nonzero(np.abs(signs @ diff) / n >= threshold))
        return PermutationTestResult(observed, mean_difference, count / total, total, True)

    rng = np.random.default_rng(seed)
    count = 0
    rows = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, n_permutations, rows):
        size = min(rows, n_permutations - start)
        signs = 1.0 - 2.0 * rng.integers(0, 2, size=(size, n), dtype=np.int8)
        count += int(np.count_nonzero(np.abs(signs @ diff) / n >= threshold))
    pvalue = (count + 1) / (n_permutations + 1)
    return PermutationTestResult(observed, mean_difference, pvalue, n_permutations, False)


def bootstrap_ci(
    values,
    confidence: float = 0.95,
    n_resamples: int = 10000,
    seed: int | np.random.Generator | None = None,
) -> BootstrapCI:
    """Percentile bootstrap confidence interval of the mean of ``values``.

    Convention:
        ``n_resamples`` resamples of the cases with replacement; the interval is the
        ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles (linear
        interpolation) of the resampled means — ``scipy.stats.bootstrap(...,
        method="percentile")``, which draws the same resample indices from the same
        generator.

    Args:
        values: per-case values, 1-D, finite.
        confidence: confidence level in ``(0, 1)``.
        n_resamples: number of bootstrap resamples.
        seed: seed or ``numpy.random.Generator``.

    Returns:
        A :class:`BootstrapCI` with the sample mean and the interval.

    Raises:
        ValueError: empty, non-1-D or non-finite ``values``, ``confidence`` outside
            ``(0, 1)``, or ``n_resamples`` not a positive int.
    """
    data = _as_1d(values, "values")
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, numbers.Real)
        or not 0.0 < float(confidence) < 1.0
    ):
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    n_resamples = _check_count(n_resamples, "n_resamples")
    rng = np.random.default_rng(seed)
    n = data.size
    rows = max(1, _CHUNK_ELEMENTS // n)
    means = np.empty(n_resamples, dtype=np.float64)
    for start in range(0, n_resamples, rows):
        size = min(rows, n_resamples - start)
        means[start : start + size] = data[rng.integers(0, n, size=(size, n))].mean(axis=-1)
    alpha = (1.0 - float(confidence)) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return BootstrapCI(float(np.mean(data)), float(low), float(high), float(confidence))


def empirical_cdf(values) -> tuple[np.ndarray, np.ndarray]:
    """Empirical distribution function of ``values``.

    Args:
        values: 1-D sample, finite (``inf`` is rejected like NaN; map misses first).

    Returns:
        ``(x, F)``: ``x`` the sorted sample, ``F[i] = #{values <= x[i]} / n`` (tied values
        share the same ``F``; the last is 1). Plot as a step function
        (``where="post"``).

    Raises:
        ValueError: empty, non-1-D or non-finite ``values``.
    """
    x = np.sort(_as_1d(values, "values"))
    cdf = np.searchsorted(x, x, side="right") / x.size
    return x, cdf


__all__ = [
    "BootstrapCI",
    "PermutationTestResult",
    "bootstrap_ci",
    "empirical_cdf",
    "paired_permutation_test",
]
