"""boundaryloss.stats against scipy.stats: permutation test, bootstrap, empirical CDF."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats as scipy_stats

from boundaryloss.stats import bootstrap_ci, empirical_cdf, paired_permutation_test


def _abs_mean_difference(x, y, axis):
    return np.abs(np.mean(x - y, axis=axis))


def _scipy_pvalue(a, b, n_resamples, rng=None):
    return scipy_stats.permutation_test(
        (a, b),
        _abs_mean_difference,
        permutation_type="samples",
        n_resamples=n_resamples,
        alternative="greater",
        vectorized=True,
        rng=rng,
    ).pvalue


@pytest.mark.parametrize("n", [2, 3, 5, 8, 11, 13])
def test_exact_enumeration_matches_scipy(n):
    rng = np.random.default_rng(n)
    a = rng.uniform(0.6, 0.9, n)
    b = a + rng.normal(0.03, 0.05, n)
    result = paired_permutation_test(a, b)
    assert result.exact and result.n_permutations == 2**n
    assert result.pvalue == pytest.approx(_scipy_pvalue(a, b, 10000), abs=1e-12)
    assert result.statistic == pytest.approx(abs(np.mean(a - b)))
    assert result.mean_difference == pytest.approx(np.mean(a - b))


def test_ties_are_counted_like_scipy():
    a = np.array([0.8, 0.7, 0.9, 0.6])
    b = np.array([0.7, 0.8, 0.8, 0.7])  # differences ±0.1: many tied null statistics
    assert paired_permutation_test(a, b).pvalue == pytest.approx(_scipy_pvalue(a, b, 10000))
    assert paired_permutation_test(a, a).pvalue == 1.0


def test_monte_carlo_agrees_with_scipy_within_tolerance():
    rng = np.random.default_rng(0)
    n = 40
    a = rng.uniform(0.6, 0.9, n)
    b = a + rng.normal(0.02, 0.08, n)
    ours = paired_permutation_test(a, b, n_permutations=20000, seed=1)
    assert not ours.exact and ours.n_permutations == 20000
    reference = _scipy_pvalue(a, b, 20000, rng=2)
    # Two independent Monte-Carlo estimates: a few standard errors apart at most.
    se = np.sqrt(reference * (1 - reference) / 20000)
    assert abs(ours.pvalue - reference) < 5 * se + 1e-3


def test_seeded_and_accepts_torch():
    rng = np.random.default_rng(5)
    a, b = rng.random(30), rng.random(30)
    first = paired_permutation_test(a, b, n_permutations=500, seed=7)
    assert first == paired_permutation_test(a, b, n_permutations=500, seed=7)
    generator = np.random.default_rng(7)
    assert paired_permutation_test(a, b, 500, seed=generator).pvalue == first.pvalue
    assert paired_permutation_test(torch.from_numpy(a), list(b), 500, seed=7) == first
    assert 1 / 501 <= first.pvalue <= 1.0


@pytest.mark.parametrize(
    ("a", "b", "kwargs", "match"),
    [
        ([1.0, 2.0], [1.0], {}, "same length"),
        ([], [], {}, "non-empty"),
        ([1.0, np.nan], [1.0, 2.0], {}, "finite"),
        ([1.0, 2.0], [1.0, np.inf], {}, "b must contain only finite"),
        ([[1.0, 2.0]], [[1.0, 2.0]], {}, "1-D"),
        ([1.0, 2.0], [2.0, 1.0], {"n_permutations": 0}, "n_permutations"),
    ],
)
def test_permutation_bad_input(a, b, kwargs, match):
    with pytest.raises(ValueError, match=match):
        paired_permutation_test(a, b, **kwargs)


@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_bootstrap_matches_scipy_percentile(confidence):
    values = np.random.default_rng(1).gamma(2.0, 1.5, size=25)
    ours = bootstrap_ci(values, confidence, n_resamples=5000, seed=3)
    reference = scipy_stats.bootstrap(
        (values,),
        np.mean,
        confidence_level=confidence,
        n_resamples=5000,
        method="percentile",
        rng=3,
    ).confidence_interval
    # Same generator, same resample indices: equal up to rounding.
    assert ours.low == pytest.approx(reference.low, rel=1e-12)
    assert ours.high == pytest.approx(reference.high, rel=1e-12)
    assert ours.mean == pytest.approx(values.mean())
    # Independent seeds agree within Monte-Carlo error.
    other = bootstrap_ci(values, confidence, n_resamples=5000, seed=11)
    width = reference.high - reference.low
    assert abs(other.low - reference.low) < 0.1 * width
    assert abs(other.high - reference.high) < 0.1 * width


def test_bootstrap_bad_input():
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1.0, 2.0], confidence=1.0)
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_ci([1.0, 2.0], n_resamples=0)
    with pytest.raises(ValueError, match="values"):
        bootstrap_ci([np.inf, 1.0])


def test_empirical_cdf():
    x, cdf = empirical_cdf([3.0, 1.0, 2.0, 2.0])
    np.testing.assert_array_equal(x, [1.0, 2.0, 2.0, 3.0])
    np.testing.assert_array_equal(cdf, [0.25, 0.75, 0.75, 1.0])
    reference = scipy_stats.ecdf([3.0, 1.0, 2.0, 2.0]).cdf
    np.testing.assert_allclose(cdf, reference.evaluate(x))
    with pytest.raises(ValueError, match="values"):
        empirical_cdf([])


def test_single_case_scipy_rejects_keeps_its_answer():
    # scipy.stats.permutation_test and bootstrap refuse one observation; a comparison on one
    # validation case must still give a result: both sign patterns reach |d|, so p = 1.
    with pytest.raises(ValueError):
        _scipy_pvalue(np.array([0.9]), np.array([0.7]), 10000)
    result = paired_permutation_test([0.9], [0.7])
    assert result.pvalue == 1.0 and result.exact and result.n_permutations == 2
    assert result.mean_difference == pytest.approx(0.2)
    assert paired_permutation_test([0.9], [0.7], n_permutations=1).n_permutations == 1
    assert bootstrap_ci([0.4]) == (0.4, 0.4, 0.4, 0.95)


def _pooled_dice(total):
    return 2 * total[..., 0] / (total[..., 1] + total[..., 2])


def test_pooled_permutation_test_by_hand():
    """Three cases' (tp, pred, ref) counts: every one of the 8 swap patterns recomputed
    in the test; p is the share reaching the observed |difference|."""
    import itertools

    from boundaryloss.stats import paired_pooled_permutation_test

    a = np.array([[8, 10, 10], [1, 2, 4], [5, 6, 5]], float)
    b = np.array([[6, 9, 10], [0, 1, 4], [4, 5, 7]], float)
    observed = _pooled_dice(a.sum(0)) - _pooled_dice(b.sum(0))
    null = []
    for swap in itertools.product((False, True), repeat=3):
        x = np.where(np.array(swap)[:, None], b, a).sum(0)
        y = np.where(np.array(swap)[:, None], a, b).sum(0)
        null.append(abs(_pooled_dice(x) - _pooled_dice(y)))
    expected = np.mean(np.array(null) >= abs(observed) * (1 - 1e-12))
    result = paired_pooled_permutation_test(lambda x, y: _pooled_dice(x) - _pooled_dice(y), a, b)
    assert result.exact and result.n_permutations == 8
    assert result.mean_difference == pytest.approx(observed)
    assert result.pvalue == pytest.approx(expected)


@pytest.mark.parametrize("n, n_permutations", [(9, 10000), (14, 500)])
def test_pooled_permutation_test_of_a_mean_is_the_per_case_test(n, n_permutations):
    """With per-case scores and the mean difference it gives the p-value of
    paired_permutation_test, exact or with the same random sign patterns."""
    from boundaryloss.stats import paired_pooled_permutation_test

    rng = np.random.default_rng(n)
    a, b = rng.random(n), rng.random(n) + 0.15
    expected = paired_permutation_test(a, b, n_permutations, seed=3)
    result = paired_pooled_permutation_test(lambda x, y: (x - y) / n, a, b, n_permutations, seed=3)
    assert result.pvalue == expected.pvalue and result.exact == expected.exact
    assert result.mean_difference == pytest.approx(expected.mean_difference)
    # Contributions with more axes (seeds, counts): the test swaps whole rows.
    one = paired_pooled_permutation_test(lambda x, y: x[..., 0] - y[..., 0], [[1.0]], [[0.0]])
    assert one.pvalue == 1.0


def test_pooled_permutation_test_bad_input():
    from boundaryloss.stats import paired_pooled_permutation_test

    def diff(x, y):
        return x - y

    with pytest.raises(ValueError, match="same shape"):
        paired_pooled_permutation_test(diff, [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        paired_pooled_permutation_test(diff, [1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="n_permutations"):
        paired_pooled_permutation_test(diff, [1.0, 2.0], [1.0, 2.0], n_permutations=0)


def test_pooled_permutation_test_refuses_an_undefined_score():
    """An observed NaN (pooled Dice of nothing against nothing written as 0/0) is an
    error, not p = 0; a swap pattern with an undefined score counts as reaching it."""
    from boundaryloss.stats import paired_pooled_permutation_test

    def ratio(x, y):
        with np.errstate(invalid="ignore", divide="ignore"):
            return x[..., 0] / x[..., 1] - y[..., 0] / y[..., 1]

    with pytest.raises(ValueError, match="observed difference is nan"):
        paired_pooled_permutation_test(ratio, [[0.0, 0.0], [0.0, 0.0]], [[1.0, 2.0], [1.0, 2.0]])
    # A pattern whose score is undefined counts as reaching the observed difference.
    # Observed: 2/1 - 1/1 = 1. Swapping case 0 leaves A 0/0, swapping case 1 leaves B
    # 0/0 (both undefined: counted), swapping both gives 1/1 - 2/1 = -1 (reaches): p = 1,
    # where dropping the undefined patterns would give 2/4.
    a, b = [[2.0, 1.0], [0.0, 0.0]], [[0.0, 0.0], [1.0, 1.0]]
    result = paired_pooled_permutation_test(ratio, a, b)
    assert result.exact and result.n_permutations == 4
    assert result.mean_difference == pytest.approx(1.0) and result.pvalue == 1.0
