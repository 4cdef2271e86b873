"""Area under the precision-recall curve (average precision) of pixels pooled over cases.

The ranking metric of lesion segmentation in the IDRiD challenge (Porwal et al., "IDRiD:
Diabetic Retinopathy - Segmentation and Grading Challenge", Medical Image Analysis 59,
2020): every pixel of every test image is one sample, scored by its probability of
belonging to a lesion type. With very unbalanced classes (lesions cover a fraction of a
percent of an image) it ranks models by how well they order the rare positive pixels
above the background, independent of any threshold.

Convention:
    Average precision is the step-wise (uninterpolated) area
    ``AP = sum_k (R_k - R_{k-1}) * P_k`` over the distinct score values ``t_k`` in
    decreasing order, with ``P_k`` and ``R_k`` the precision and recall of the pixels
    scoring ``>= t_k`` and ``R_0 = 0``: pixels with equal scores enter together. This is
    ``sklearn.metrics.average_precision_score`` exactly (equal up to the rounding of the
    final sum); no trapezoids, no interpolation of the precision.

    Scores only need to be ordered (probabilities, logits): AP depends on their ranking.
    Multi-class input is one-vs-rest: class ``c`` is positive where the reference is
    ``c`` and scored by channel ``c`` of the probabilities (softmax output, ``(C,
    *spatial)``).

    No positive pixel (the class is absent from every reference pixel counted) gives
    NaN: recall is undefined, so a ranking of the class cannot be scored (scikit-learn
    returns 0.0 with a warning instead, which would count a class absent from the data
    as a total failure). A ``mask`` (e.g. a retinal field of view) limits the pixels
    counted; pixels outside it are neither positives nor negatives.

Memory:
    An exact AP needs every score (a histogram of them would merge distinct scores and
    change the ties), so :class:`AveragePrecision` keeps one copy of each counted score
    per class, in the dtype given (4 bytes per pixel and class for float32
    probabilities): 27 IDRiD test images of 4288 x 2848 pixels hold about 1.3 GB per
    lesion type (less inside a field-of-view ``mask``), 20 volumes of 256^3 voxels about
    1.3 GB per class. :meth:`AveragePrecision.compute` sorts them once (``O(n log n)``),
    after leaving out the negatives that score below the lowest positive (they cannot
    change the AP), so its peak is the stored scores plus those kept.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._validation import ArrayLike, check_classes, integer_labels, select_classes
from ._inputs import to_numpy
from .specificity import check_roi


def _scores(values: ArrayLike, name: str) -> np.ndarray:
    """``values`` as a numpy array of finite real scores."""
    scores = to_numpy(values, name)
    if scores.dtype == bool or not (
        np.issubdtype(scores.dtype, np.floating) or np.issubdtype(scores.dtype, np.integer)
    ):
        raise ValueError(f"{name} must hold real-valued scores, got dtype {scores.dtype}")
    if np.issubdtype(scores.dtype, np.floating) and not np.all(np.isfinite(scores)):
        bad = int(np.count_nonzero(~np.isfinite(scores)))
        raise ValueError(f"{name} holds {bad} NaN or infinite value(s)")
    return scores


def _binary_target(values: ArrayLike, shape: tuple[int, ...]) -> np.ndarray:
    """``values`` as a boolean array of ``shape`` after checking every value is 0 or 1."""
    target = to_numpy(values, "target")
    if tuple(target.shape) != shape:
        raise ValueError(f"target must have the shape {shape} of scores, got {tuple(target.shape)}")
    if target.dtype != bool:
        if not np.isin(target, (0, 1)).all():
            raise ValueError("target must be binary (bool or 0/1 values)")
        target = target.astype(bool)
    return target


def _average_precision(positives: Sequence[np.ndarray], negatives: Sequence[np.ndarray]) -> float:
    """Step-wise AP of the scores of the positive and of the negative samples, each given
    in chunks (one per case)."""
    if not any(chunk.size for chunk in positives):
        return math.nan
    values, counts = np.unique(np.concatenate(positives), return_counts=True)  # ascending
    values, counts = values[::-1], counts[::-1]
    true_positives = np.cumsum(counts)  # positives scoring >= each distinct value
    # Negatives below the lowest positive never score above a threshold that adds recall:
    # left out chunk by chunk, before the one concatenation and sort.
    ranked = np.sort(np.concatenate([chunk[chunk >= values[-1]] for chunk in negatives]))
    false_positives = ranked.size - np.searchsorted(ranked, values, side="left")
    precision = true_positives / (true_positives + false_positives)
    recall = true_positives / true_positives[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


#: Bins of the score histograms (:func:`score_histogram`): the AP of scores quantised to
#: 1/16384 differs from the exact one by about 5e-5 on an IDRiD validation set (measured:
#: 0.75342 exact, 0.75338 binned).
SCORE_BINS = 16384


def score_histogram(
    positives: np.ndarray, negatives: np.ndarray, bins: int = SCORE_BINS
) -> np.ndarray:
    """Counts of positive and negative probabilities per bin, ``(2, bins)`` int64.

    Bin ``k`` holds the scores in ``[k / bins, (k + 1) / bins)``, the last also 1.0. Such
    histograms add up over cases, so pooled scores of any subset of cases can be
    recomputed from them (:func:`histogram_average_precision`; the image-level
    permutation test of a pooled AUPR).

    Raises:
        ValueError: a score outside ``[0, 1]`` (histograms are of probabilities).
    """
    out = np.zeros((2, bins), dtype=np.int64)
    for row, scores in enumerate((positives, negatives)):
        scores = np.asarray(scores, dtype=np.float64).ravel()
        if scores.size and not (scores.min() >= 0.0 and scores.max() <= 1.0):
            raise ValueError("score histograms need probabilities in [0, 1]")
        index = np.minimum((scores * bins).astype(np.int64), bins - 1)
        out[row] = np.bincount(index, minlength=bins)
    return out


def histogram_average_precision(histogram: ArrayLike) -> np.ndarray:
    """Average precision of score histograms ``(..., 2, bins)`` (:func:`score_histogram`).

    Every score in a bin counts as the bin's index, so this is the step-wise AP of the
    module's convention over the quantised scores (``sklearn.metrics.
    average_precision_score`` of ``min(floor(score * bins), bins - 1)``), NaN without
    positives.

    Returns:
        The AP per histogram, shape ``(...)``.
    """
    counts = np.asarray(histogram, dtype=np.float64)
    positives, negatives = counts[..., 0, ::-1], counts[..., 1, ::-1]  # highest bin first
    true_positives = np.cumsum(positives, axis=-1)
    predicted = true_positives + np.cumsum(negatives, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, true_positives / predicted, 0.0)
        total = true_positives[..., -1]
        return np.where(total > 0, np.sum(positives * precision, axis=-1) / total, np.nan)


def histogram_share(counts: ArrayLike, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """Share of the scores counted in ``counts`` ``(..., bins)`` (a row of
    :func:`score_histogram`, or the sum of its rows) that lie in ``[low, high)``.

    Each threshold is taken to the bin edge at or above it, ``ceil(t * bins) / bins``
    (with 16384 bins, 0.01 becomes 164 / 16384 = 0.010010), so the share is exact for
    those edges. The last bin also holds the scores of 1.0, so they are inside when
    ``high`` is taken to 1.

    Returns:
        The share per histogram, shape ``(...)``; NaN where nothing was counted.

    Raises:
        ValueError: ``low`` or ``high`` outside ``[0, 1]``, or ``low > high``.
    """
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(f"need 0 <= low <= high <= 1, got low={low!r}, high={high!r}")
    counts = np.asarray(counts, dtype=np.float64)
    bins = counts.shape[-1]
    first = math.ceil(low * bins)
    stop = min(math.ceil(high * bins), bins)
    total = counts.sum(axis=-1)
    inside = counts[..., first:stop].sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, inside / total, np.nan)


def binary_average_precision(
    scores: ArrayLike, target: ArrayLike, mask: ArrayLike | None = None
) -> float:
    """Average precision of one binary problem: ``scores`` ranked against ``target``.

    Args:
        scores: real scores of any shape (probabilities of the positive class, or
            logits), numpy array or torch tensor; finite.
        target: bool or 0/1 values, the shape of ``scores``: the positives.
        mask: optional bool or 0/1 array of that shape; only its non-zero elements count.

    Returns:
        ``sklearn.metrics.average_precision_score(target[mask], scores[mask])``, or NaN
        when no counted element is positive (see the module's convention).

    Raises:
        ValueError: non-finite or non-numeric scores, a non-binary target or mask, or a
            shape mismatch.

    Example:
        >>> binary_average_precision(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
        0.8333333333333333
    """
    values = _scores(scores, "scores")
    positive = _binary_target(target, tuple(values.shape))
    roi = check_roi(mask, tuple(values.shape))
    if roi is not None:
        values, positive = values[roi], positive[roi]
    return _average_precision([values[positive]], [values[~positive]])


class AveragePrecision:
    """Average precision per class of pixels pooled over cases, one case at a time.

    Each :meth:`update` adds one case's probabilities ``(C, *spatial)`` and reference
    label map ``(*spatial)``, restricted to an optional ``mask``; :meth:`compute` returns
    the AP of all pixels added so far, as if every case's pixels had been concatenated
    (the IDRiD challenge's pooled AUPR). See the module for the convention and the
    memory it takes.

    Args:
        include_background: score class 0 too (default: foreground classes only).
        classes: explicit class indices to score (default: every class of the first case,
            without 0 unless ``include_background``).

    Raises:
        ValueError: a bad ``classes`` list (at construction or when the first case shows
            it out of range).

    Example:
        >>> ap = AveragePrecision()
        >>> ap.update(np.array([[0.9, 0.6], [0.1, 0.4]]), np.array([0, 1]))
        >>> ap.update(np.array([[0.65, 0.2], [0.35, 0.8]]), np.array([0, 1]))
        >>> ap.compute()
        {1: 1.0}
    """

    def __init__(
        self, include_background: bool = False, classes: Sequence[int] | None = None
    ) -> None:
        self.include_background = include_background
        self.requested = check_classes(classes, include_background)
        self.num_classes: int | None = None
        self.classes: tuple[int, ...] = ()
        self.num_pixels = 0
        self._positives: dict[int, list[np.ndarray]] = {}
        self._negatives: dict[int, list[np.ndarray]] = {}

    def update(
        self, probabilities: ArrayLike, ref: ArrayLike, mask: ArrayLike | None = None
    ) -> None:
        """Add one case.

        Args:
            probabilities: ``(C, *spatial)`` scores per class (softmax probabilities),
                ``C >= 2``, finite; numpy array or torch tensor.
            ref: integer label map ``(*spatial)`` with values in ``[0, C)``.
            mask: optional bool or 0/1 ``(*spatial)``; pixels outside it are not counted
                (a field of view, or the voxels an ignore label leaves out).

        Raises:
            ValueError: shapes that do not match, fewer than two channels, a channel
                count other than the first case's, non-finite scores, labels outside
                ``[0, C)`` or a non-binary mask.
        """
        scores = _scores(probabilities, "probabilities")
        if scores.ndim < 2 or scores.shape[0] < 2:
            raise ValueError(
                "probabilities must be (C, *spatial) with C >= 2 classes, got shape "
                f"{tuple(scores.shape)} (one foreground map: binary_average_precision)"
            )
        channels = scores.shape[0]
        labels = to_numpy(ref, "ref")
        if tuple(labels.shape) != tuple(scores.shape[1:]):
            raise ValueError(
                f"ref must have the spatial shape {tuple(scores.shape[1:])} of probabilities "
                f"(C, *spatial), got {tuple(labels.shape)}"
            )
        labels = integer_labels(labels, channels, "ref")
        roi = check_roi(mask, tuple(labels.shape))
        if self.num_classes is None:
            self.classes = select_classes(channels, self.include_background, self.requested)
            self.num_classes = channels
            for cls in self.classes:
                self._positives[cls], self._negatives[cls] = [], []
        elif channels != self.num_classes:
            raise ValueError(
                f"probabilities have {channels} classes; earlier cases had {self.num_classes}"
            )
        if roi is not None:
            scores, labels = scores[:, roi], labels[roi]
        for cls in self.classes:
            positive = labels == cls
            self._positives[cls].append(scores[cls][positive])
            self._negatives[cls].append(scores[cls][~positive])
        self.num_pixels += int(labels.size)

    def merge(self, other: AveragePrecision) -> None:
        """Add the pixels ``other`` pooled (cases added elsewhere, e.g. in a worker), as if
        its cases had been added here after this one's.

        Raises:
            ValueError: ``other`` scores other classes or another number of channels.
        """
        if other.num_classes is None:
            return
        if self.num_classes is None:
            self.num_classes, self.classes = other.num_classes, other.classes
            for cls in self.classes:
                self._positives[cls], self._negatives[cls] = [], []
        if (other.num_classes, other.classes) != (self.num_classes, self.classes):
            raise ValueError(
                f"cannot merge the pixels of classes {other.classes} ({other.num_classes} "
                f"channels) into {self.classes} ({self.num_classes} channels)"
            )
        for cls in self.classes:
            self._positives[cls].extend(other._positives[cls])
            self._negatives[cls].extend(other._negatives[cls])
        self.num_pixels += other.num_pixels

    def case_histograms(self, bins: int = SCORE_BINS) -> list[dict[int, np.ndarray]]:
        """Per case added (in order), ``{class: (2, bins)}`` histograms of its positive and
        negative probabilities (:func:`score_histogram`).

        Raises:
            ValueError: a score outside ``[0, 1]`` (logits were added).
        """
        cases = len(self._positives[self.classes[0]]) if self.classes else 0
        return [
            {
                cls: score_histogram(self._positives[cls][i], self._negatives[cls][i], bins)
                for cls in self.classes
            }
            for i in range(cases)
        ]

    def compute(self) -> dict[int, float]:
        """``{class: AP}`` over every pixel added; NaN for a class with no positive pixel.
        Empty before the first :meth:`update` (the classes come from the first case)."""
        return {
            cls: _average_precision(self._positives[cls], self._negatives[cls])
            for cls in self.classes
        }


def average_precision(
    probabilities: ArrayLike,
    ref: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    include_background: bool = False,
    classes: Sequence[int] | None = None,
) -> dict[int, float]:
    """Average precision per class of one case (one-vs-rest over softmax probabilities).

    Args:
        probabilities: ``(C, *spatial)`` scores per class, ``C >= 2``.
        ref: integer label map ``(*spatial)``, values in ``[0, C)``.
        mask: optional bool ``(*spatial)``; only its pixels count.
        include_background, classes: which classes to score (default: ``1 .. C-1``).

    Returns:
        ``{class: AP}``; NaN for a class without a positive pixel. For several cases
        pooled, use :class:`AveragePrecision`.

    Raises:
        ValueError: as :meth:`AveragePrecision.update`.

    Example:
        >>> probs = np.array([[0.9, 0.6, 0.65, 0.2], [0.1, 0.4, 0.35, 0.8]])
        >>> average_precision(probs, np.array([0, 0, 1, 1]))
        {1: 0.8333333333333333}
    """
    accumulator = AveragePrecision(include_background, classes)
    accumulator.update(probabilities, ref, mask)
    return accumulator.compute()
