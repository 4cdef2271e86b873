"""Statistics for comparing segmentation methods over a dataset of cases.

* :func:`paired_permutation_test` — the Region-wise loss paper's significance test: paired
  per-case scores, random sign flips of the per-case differences, statistic
  ``|mean difference|``. Exact (all ``2**n`` sign patterns) when ``n_permutations`` allows.
* :func:`paired_pooled_permutation_test` — the same test for a score pooled over the
  cases (pooled Dice, lesion F1): the paired units are the cases' contributions (their
  counts), swapped between the two methods case by case.
* :func:`bootstrap_ci` — percentile bootstrap confidence interval of a mean.
* :func:`empirical_cdf` — the empirical distribution function (the RW paper's convergence
  figure plots it over cases).

The computations are scipy's (:func:`scipy.stats.permutation_test`,
:func:`scipy.stats.bootstrap`, :func:`scipy.stats.ecdf`); this module adds the input checks
(torch tensors, finite values, paired lengths), the paired result fields and the answer for
a single case, which scipy refuses.

Inputs are 1-D array-likes (lists, numpy arrays, torch tensors) of finite values: a missed
structure scored ``inf`` must be given a finite value (e.g. ``missing="diagonal"``) or
tested on a score such as Dice, since a mean with ``inf`` carries no information.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch
from scipy import stats as scipy_stats

#: Largest number of permuted or resampled values held in memory at once.
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


def _abs_mean_difference(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    return np.abs(np.mean(x - y, axis=axis))


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
        tolerance of ``100 * eps`` absorbs rounding). When ``2**n`` is at most
        ``n_permutations`` every pattern is enumerated and the p-value is exact; otherwise
        ``n_permutations`` random patterns are drawn and ``p = (k + 1) / (n_permutations +
        1)``. Computed by ``scipy.stats.permutation_test((a, b), statistic,
        permutation_type="samples", alternative="greater")`` with ``statistic = |mean(x -
        y)|``; a single case (which scipy rejects) gives ``p = 1``, as every sign pattern
        reaches the observed statistic.

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
    mean_difference = float(np.mean(a_np - b_np))
    exact = (1 << a_np.size) <= n_permutations  # scipy's rule for enumerating every pattern
    if a_np.size == 1:
        return PermutationTestResult(
            abs(mean_difference), mean_difference, 1.0, 2 if exact else n_permutations, exact
        )
    result = scipy_stats.permutation_test(
        (a_np, b_np),
        _abs_mean_difference,
        permutation_type="samples",
        vectorized=True,
        n_resamples=n_permutations,
        batch=max(1, _CHUNK_ELEMENTS // a_np.size),
        alternative="greater",
        rng=seed,
    )
    return PermutationTestResult(
        abs(mean_difference),
        mean_difference,
        float(result.pvalue),
        int(result.null_distribution.size),
        exact,
    )


def paired_pooled_permutation_test(
    difference: Callable[[np.ndarray, np.ndarray], np.ndarray],
    a,
    b,
    n_permutations: int = 10000,
    seed: int | np.random.Generator | None = None,
) -> PermutationTestResult:
    """Paired permutation test of a score pooled over cases, statistic ``|difference|``.

    Convention:
        ``a[i]`` and ``b[i]`` are what case ``i`` contributes to each method's pooled
        score, summed over the cases (for pooled Dice: its true-positive, predicted and
        reference voxel counts; for a pooled AUPR: its histogram of positive and negative
        scores; with several seeds, one row per seed). Under the null hypothesis the two
        methods are exchangeable within a case, so each case's contributions are swapped
        between them with probability 1/2, and ``difference`` recomputes the pooled
        scores' difference from the swapped totals. The p-value is the share of swap
        patterns whose ``|difference|`` reaches the observed one, counted as
        :func:`paired_permutation_test` counts (exact enumeration when ``2**n <=
        n_permutations``, else random patterns and ``p = (k + 1) / (n_permutations +
        1)``; ``scipy.stats.permutation_test`` on the cases' indices); one case gives
        ``p = 1``. With per-case scores and ``difference = (x - y) / n`` it is
        :func:`paired_permutation_test`.

    Args:
        difference: ``(x, y) -> d``: ``x`` and ``y`` of shape ``(*batch, *rest)``, the
            methods' contributions summed over the cases after swapping, ``d`` of shape
            ``batch``: method A's pooled score minus method B's.
        a: method A's contributions, shape ``(n, *rest)``, finite.
        b: method B's, the same shape.
        n_permutations, seed: as :func:`paired_permutation_test`.

    Returns:
        A :class:`PermutationTestResult` (``mean_difference``: the observed difference).

    Raises:
        ValueError: ``a`` and ``b`` of different shapes, empty or not finite, or
            ``n_permutations`` not a positive int, or an observed difference that is NaN
            or infinite (an undefined pooled score).

    Example:
        >>> def pooled_dice(total):  # counts tp, pred, ref summed over the cases
        ...     return 2 * total[..., 0] / (total[..., 1] + total[..., 2])
        >>> a = [[8, 10, 10], [1, 2, 4], [5, 6, 5]]
        >>> b = [[6, 9, 10], [0, 1, 4], [4, 5, 5]]
        >>> result = paired_pooled_permutation_test(
        ...     lambda x, y: pooled_dice(x) - pooled_dice(y), a, b)
        >>> round(result.mean_difference, 4), result.pvalue
        (0.1685, 0.25)
    """
    a_np, b_np = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a_np.shape != b_np.shape or a_np.ndim == 0 or a_np.shape[0] == 0:
        raise ValueError(
            f"a and b must be paired contributions of the same shape (n, ...), got "
            f"{a_np.shape} and {b_np.shape}"
        )
    if not (np.all(np.isfinite(a_np)) and np.all(np.isfinite(b_np))):
        raise ValueError("a and b must contain only finite values (no NaN or inf)")
    n_permutations = _check_count(n_permutations, "n_permutations")
    n, rest = a_np.shape[0], a_np.shape[1:]
    total_a, total_b = a_np.sum(axis=0), b_np.sum(axis=0)
    observed = float(difference(total_a[None], total_b[None])[0])
    if not np.isfinite(observed):
        raise ValueError(f"the observed difference is {observed}: the pooled score is undefined")
    exact = (1 << n) <= n_permutations
    if n == 1:
        patterns = 2 if exact else n_permutations
        return PermutationTestResult(abs(observed), observed, 1.0, patterns, exact)
    swap_gain = (b_np - a_np).reshape(n, -1)  # what A gains from taking B's case i

    def statistic(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
        swapped = np.moveaxis(x, axis, -1) >= n  # A's slot holds B's case: indices n..2n-1
        moved = (swapped.astype(np.float64) @ swap_gain).reshape(swapped.shape[:-1] + rest)
        # A pattern whose pooled score is undefined counts as reaching the observed
        # difference (a conservative p), never as falling short of it.
        return np.nan_to_num(np.abs(difference(total_a + moved, total_b - moved)), nan=np.inf)

    result = scipy_stats.permutation_test(
        (np.arange(n), np.arange(n, 2 * n)),
        statistic,
        permutation_type="samples",
        vectorized=True,
        n_resamples=n_permutations,
        batch=max(1, _CHUNK_ELEMENTS // (4 * n + swap_gain.shape[1])),  # indices and totals
        alternative="greater",
        rng=seed,
    )
    return PermutationTestResult(
        abs(observed), observed, float(result.pvalue), int(result.null_distribution.size), exact
    )


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
        interpolation) of the resampled means: ``scipy.stats.bootstrap(...,
        method="percentile")``. A single value (which scipy rejects) gives the interval
        ``[value, value]``.

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

    Example:
        >>> bootstrap_ci([0.5, 0.5, 0.5]).low
        0.5
    """
    data = _as_1d(values, "values")
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, numbers.Real)
        or not 0.0 < float(confidence) < 1.0
    ):
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    n_resamples = _check_count(n_resamples, "n_resamples")
    mean = float(np.mean(data))
    if data.size == 1:
        return BootstrapCI(mean, mean, mean, float(confidence))
    interval = scipy_stats.bootstrap(
        (data,),
        np.mean,
        n_resamples=n_resamples,
        batch=max(1, _CHUNK_ELEMENTS // data.size),
        confidence_level=float(confidence),
        method="percentile",
        rng=seed,
    ).confidence_interval
    return BootstrapCI(mean, float(interval.low), float(interval.high), float(confidence))


def empirical_cdf(values) -> tuple[np.ndarray, np.ndarray]:
    """Empirical distribution function of ``values`` (``scipy.stats.ecdf`` at each value).

    Args:
        values: 1-D sample, finite (``inf`` is rejected like NaN; map misses first).

    Returns:
        ``(x, F)``: ``x`` the sorted sample, ``F[i] = #{values <= x[i]} / n`` (tied values
        share the same ``F``; the last is 1). Plot as a step function
        (``where="post"``).

    Raises:
        ValueError: empty, non-1-D or non-finite ``values``.

    Example:
        >>> empirical_cdf([3.0, 1.0, 2.0, 2.0])[1].tolist()
        [0.25, 0.75, 0.75, 1.0]
    """
    x = np.sort(_as_1d(values, "values"))
    return x, scipy_stats.ecdf(x).cdf.evaluate(x)


__all__ = [
    "BootstrapCI",
    "PermutationTestResult",
    "bootstrap_ci",
    "empirical_cdf",
    "paired_permutation_test",
    "paired_pooled_permutation_test",
]
