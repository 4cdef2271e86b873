"""Average precision: hand-computed values, scikit-learn as the reference (ties, masks,
multi-class one-vs-rest, cases pooled), the empty convention and the input checks."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score

from boundaryloss.metrics import AveragePrecision, average_precision, binary_average_precision


def sklearn_ap(target, scores) -> float:
    return float(average_precision_score(np.ravel(target), np.ravel(scores)))


def test_hand_computed():
    # Ranked: 0.8 (+), 0.4 (-), 0.35 (+), 0.1 (-): P = 1 at R = 1/2, P = 2/3 at R = 1.
    scores, target = np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])
    assert binary_average_precision(scores, target) == pytest.approx(0.5 + 0.5 * 2 / 3)
    # Perfect ranking and the worst one.
    assert binary_average_precision(np.array([0.2, 0.9]), np.array([0, 1])) == 1.0
    # Worst: the positive ranked last among 4 -> P = 1/4 at R = 1.
    worst = binary_average_precision(np.array([0.9, 0.8, 0.7, 0.1]), np.array([0, 0, 0, 1]))
    assert worst == pytest.approx(0.25)


def test_ties_enter_together():
    # Every score tied: one threshold, P = 2/4 at R = 1 (no credit for a lucky order).
    assert binary_average_precision(np.full(4, 0.5), np.array([0, 1, 1, 0])) == 0.5
    # A tie between a positive and a negative at the top: P = 1/2 at R = 1/2, then
    # the second positive alone at 0.3: P = 2/3 at R = 1.
    scores, target = np.array([0.9, 0.9, 0.3, 0.1]), np.array([1, 0, 1, 0])
    expected = 0.5 * 0.5 + 0.5 * 2 / 3
    assert binary_average_precision(scores, target) == pytest.approx(expected)
    assert sklearn_ap(target, scores) == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(6))
def test_matches_sklearn_random_with_ties(seed):
    rng = np.random.default_rng(seed)
    shape = (40, 50)
    target = rng.random(shape) < rng.uniform(0.005, 0.3)
    target.flat[0] = True
    # Coarse scores make many ties between positives and negatives.
    scores = np.round(rng.random(shape) * 0.5 + 0.4 * target, rng.integers(1, 4))
    assert binary_average_precision(scores, target) == pytest.approx(
        sklearn_ap(target, scores), rel=1e-12
    )


def test_float32_scores_keep_their_ties():
    # Two float64 values that round to the same float32 are one tie in float32, as in
    # scikit-learn given the same float32 array.
    scores = np.array([0.3, 0.30000001, 0.2, 0.9], dtype=np.float32)
    assert scores[0] == scores[1]
    target = np.array([1, 0, 1, 0])
    assert binary_average_precision(scores, target) == pytest.approx(sklearn_ap(target, scores))


def test_mask_limits_the_pixels():
    rng = np.random.default_rng(3)
    scores, target = rng.random((8, 9)), rng.random((8, 9)) < 0.3
    mask = rng.random((8, 9)) < 0.6
    expected = sklearn_ap(target[mask], scores[mask])
    assert binary_average_precision(scores, target, mask) == pytest.approx(expected, rel=1e-12)
    assert binary_average_precision(scores, target, mask.astype(np.uint8)) == pytest.approx(
        expected, rel=1e-12
    )
    # A negative outside the mask that outranks every positive does not count.
    scores[~mask] = 2.0
    assert binary_average_precision(scores, target, mask) == pytest.approx(expected, rel=1e-12)


def test_no_positive_is_nan_where_sklearn_says_zero():
    scores, target = np.array([0.1, 0.7]), np.array([0, 0])
    assert math.isnan(binary_average_precision(scores, target))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert sklearn_ap(target, scores) == 0.0
    # No pixel at all inside the mask: nothing is positive either.
    assert math.isnan(binary_average_precision(scores, np.array([0, 1]), np.zeros(2, bool)))
    assert math.isnan(average_precision(np.ones((2, 3, 3)) / 2, np.zeros((3, 3), int))[1])


def test_no_negative_is_one():
    assert binary_average_precision(np.array([0.2, 0.1]), np.array([1, 1])) == 1.0


@pytest.mark.parametrize("spatial", [(6, 7), (4, 5, 6)])
def test_multiclass_one_vs_rest_matches_sklearn(spatial):
    rng = np.random.default_rng(len(spatial))
    logits = rng.normal(size=(4, *spatial))
    probs = np.exp(logits) / np.exp(logits).sum(0)
    ref = rng.integers(0, 4, spatial)
    onehot = np.stack([ref == c for c in range(4)]).reshape(4, -1).T
    expected = average_precision_score(onehot, probs.reshape(4, -1).T, average=None)
    result = average_precision(probs, ref)
    assert list(result) == [1, 2, 3]
    for cls in (1, 2, 3):
        assert result[cls] == pytest.approx(expected[cls], rel=1e-12)
    assert average_precision(probs, ref, include_background=True)[0] == pytest.approx(
        expected[0], rel=1e-12
    )
    assert list(average_precision(probs, ref, classes=[2])) == [2]
    # torch tensors give the same.
    assert average_precision(torch.from_numpy(probs), torch.from_numpy(ref)) == result


def test_pooling_cases_equals_sklearn_on_the_concatenation():
    rng = np.random.default_rng(7)
    accumulator = AveragePrecision()
    all_scores, all_targets = [], []
    for shape in [(5, 6), (7, 3), (4, 4)]:
        probs = rng.dirichlet(np.ones(3), size=shape).transpose(2, 0, 1).astype(np.float32)
        ref = rng.integers(0, 3, shape)
        fov = rng.random(shape) < 0.8
        accumulator.update(probs, ref, fov)
        all_scores.append(probs[:, fov])
        all_targets.append(ref[fov])
    scores, targets = np.concatenate(all_scores, axis=1), np.concatenate(all_targets)
    pooled = accumulator.compute()
    for cls in (1, 2):
        assert pooled[cls] == pytest.approx(sklearn_ap(targets == cls, scores[cls]), rel=1e-12)
    assert accumulator.num_pixels == targets.size
    # Before the first case there are no classes to score.
    assert AveragePrecision().compute() == {}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=1, max_size=40).filter(
        lambda pairs: any(positive for _, positive in pairs)
    )
)
def test_property_equals_sklearn(pairs):
    # Scores from a handful of values: ties everywhere.
    scores = np.array([value / 6 for value, _ in pairs])
    target = np.array([positive for _, positive in pairs])
    assert binary_average_precision(scores, target) == pytest.approx(
        sklearn_ap(target, scores), rel=1e-12
    )


def test_input_checks():
    with pytest.raises(ValueError, match="NaN or infinite"):
        binary_average_precision(np.array([np.nan, 0.2]), np.array([0, 1]))
    with pytest.raises(ValueError, match="target must be binary"):
        binary_average_precision(np.array([0.1, 0.2]), np.array([0, 2]))
    with pytest.raises(ValueError, match="shape"):
        binary_average_precision(np.array([0.1, 0.2]), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="real-valued"):
        binary_average_precision(np.array([True, False]), np.array([0, 1]))
    with pytest.raises(ValueError, match="C >= 2"):
        average_precision(np.ones((1, 3, 3)), np.zeros((3, 3), int))
    with pytest.raises(ValueError, match="spatial shape"):
        average_precision(np.ones((2, 3, 3)), np.zeros((3, 4), int))
    with pytest.raises(ValueError, match=r"values must lie in \[0, 2\)"):
        average_precision(np.ones((2, 3, 3)), np.full((3, 3), 2))
    with pytest.raises(ValueError, match="mask"):
        average_precision(np.ones((2, 3, 3)), np.zeros((3, 3), int), mask=np.ones((2, 2)))
    with pytest.raises(ValueError, match="out of range"):
        average_precision(np.ones((2, 3, 3)), np.zeros((3, 3), int), classes=[2])
    with pytest.raises(ValueError, match="background"):
        AveragePrecision(classes=[0])
    accumulator = AveragePrecision()
    accumulator.update(np.ones((2, 3)) / 2, np.array([0, 1, 0]))
    with pytest.raises(ValueError, match="earlier cases had 2"):
        accumulator.update(np.ones((3, 3)) / 3, np.array([0, 1, 0]))


def test_two_million_pixels():
    rng = np.random.default_rng(0)
    target = rng.random(2_000_000) < 0.01
    scores = (rng.random(2_000_000) * 0.7 + 0.3 * target).astype(np.float32)
    assert binary_average_precision(scores, target) == pytest.approx(
        sklearn_ap(target, scores), rel=1e-12
    )


@pytest.mark.parametrize("bins", [4, 64, 16384])
def test_histogram_average_precision_is_sklearns_of_the_quantised_scores(bins):
    """The AP of score histograms equals scikit-learn's AP of ``floor(score * bins)``
    (1.0 in the last bin), ties within a bin included; histograms of cases add up."""
    from boundaryloss.metrics.precision_recall import (
        histogram_average_precision,
        score_histogram,
    )

    rng = np.random.default_rng(bins)
    scores = np.concatenate([rng.random(3000) ** 3, [0.0, 1.0, 1.0, 0.5]])
    target = rng.random(scores.size) < 0.1 + 0.5 * scores
    quantised = np.minimum((scores * bins).astype(np.int64), bins - 1)
    histogram = score_histogram(scores[target], scores[~target], bins)
    assert histogram.shape == (2, bins) and histogram.sum() == scores.size
    assert histogram_average_precision(histogram) == pytest.approx(
        sklearn_ap(target, quantised), abs=1e-12
    )
    halves = [
        score_histogram(s[t], s[~t], bins)
        for s, t in ((scores[:1000], target[:1000]), (scores[1000:], target[1000:]))
    ]
    assert np.array_equal(halves[0] + halves[1], histogram)
    stacked = histogram_average_precision(np.stack([histogram, halves[0]]))  # batched
    assert stacked[1] == pytest.approx(sklearn_ap(target[:1000], quantised[:1000]), abs=1e-12)
    no_positive = score_histogram(np.array([]), scores, bins)
    assert math.isnan(histogram_average_precision(no_positive))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        score_histogram(np.array([1.5]), np.array([0.1]), bins)


def test_case_histograms_pool_to_the_exact_ap_within_the_bin_width():
    """Each case's histograms, summed, rank as the pooled pixels do up to ties inside a
    bin: the AP of 16384 bins is within 1e-3 of the exact pooled AP here."""
    from boundaryloss.metrics.precision_recall import histogram_average_precision

    rng = np.random.default_rng(7)
    ap = AveragePrecision()
    cases = []
    for _ in range(3):
        ref = (rng.random((40, 40)) < 0.05).astype(np.int64)
        fg = np.clip(0.6 * ref + 0.5 * rng.random((40, 40)), 0, 1)
        ap.update(np.stack([1 - fg, fg]), ref)
        cases.append((fg, ref))
    per_case = ap.case_histograms()
    assert len(per_case) == 3 and set(per_case[0]) == {1}
    for (_, ref), histograms in zip(cases, per_case, strict=True):
        assert histograms[1][0].sum() == ref.sum() and histograms[1].sum() == ref.size
    pooled = histogram_average_precision(sum(h[1] for h in per_case))
    assert pooled == pytest.approx(ap.compute()[1], abs=1e-3)


@pytest.mark.parametrize("bins", [64, 16384])
def test_histogram_share_counts_the_scores_between_bin_edges(bins):
    """The share of scores in [low, high), thresholds taken up to the next bin edge,
    counted here on the raw scores; 1.0 is inside when high is taken to 1 (the last bin
    holds it); empty rows are NaN."""
    from boundaryloss.metrics.precision_recall import histogram_share, score_histogram

    rng = np.random.default_rng(bins)
    scores = np.concatenate([rng.random(5000) ** 4, [0.0, 1.0, 1.0]])
    target = rng.random(scores.size) < 0.2
    histogram = score_histogram(scores[target], scores[~target], bins)
    for low, high in ((0.0, 0.01), (0.01, 0.99), (0.5, 1.0), (0.3, 0.3), (0.0, 1.0)):
        lo, hi = math.ceil(low * bins) / bins, math.ceil(high * bins) / bins
        inside = (scores >= lo) & ((scores < hi) | (hi == 1.0))
        assert histogram_share(histogram.sum(0), low, high) == pytest.approx(inside.mean())
        got = histogram_share(histogram, low, high)  # per row: positives, negatives
        assert got == pytest.approx([inside[target].mean(), inside[~target].mean()])
    # 0.01 is not an edge of 64 or 16384 bins: a score just below the edge above it counts
    # as below 0.01.
    edge = math.ceil(0.01 * bins) / bins
    just_below = score_histogram(np.array([edge - 1e-9]), np.array([]), bins)[0]
    assert histogram_share(just_below, 0.0, 0.01) == 1.0
    assert math.isnan(histogram_share(np.zeros(bins), 0.0, 0.5))
    with pytest.raises(ValueError, match="low <= high"):
        histogram_share(histogram, 0.6, 0.5)
