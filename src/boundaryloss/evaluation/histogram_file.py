"""The score histograms of an evaluation (``score_histograms.csv``): per case and
foreground class, how many of its positive and negative pixels (inside the field of view)
fall in each probability bin.

Pooled scores of any subset of the cases can be recomputed from these counts, which the
comparison report's paired permutation test over images needs for the pooled AUPR
(:func:`~boundaryloss.metrics.precision_recall.histogram_average_precision`; the exact
AUPR stays the summary's). One row per non-empty bin, columns :data:`COLUMNS`:

* ``case``, ``class``;
* ``bin`` (0-based) of ``bins``: the probabilities in ``[bin / bins, (bin + 1) / bins)``,
  the last bin also 1.0 (:func:`~boundaryloss.metrics.precision_recall.score_histogram`);
* ``positives``, ``negatives``: the reference pixels of the class, and the others, whose
  probability of the class falls in the bin.

A case and class without any row has no scored pixel.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

#: The columns of ``score_histograms.csv``, in order.
COLUMNS = ("case", "class", "bin", "bins", "positives", "negatives")

#: ``{(case, class): (2, bins) int64}``: positives (row 0) and negatives (row 1) per bin.
Histograms = dict[tuple[str, int], np.ndarray]


def histograms_csv(case_ids: Sequence[str], per_case: Sequence[Mapping[int, np.ndarray]]) -> str:
    """The rows of :data:`COLUMNS` of ``per_case[i]`` (``{class: (2, bins)}``, as
    :meth:`~boundaryloss.metrics.AveragePrecision.case_histograms` gives) for case
    ``case_ids[i]``: its non-empty bins in increasing order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for case_id, histograms in zip(case_ids, per_case, strict=True):
        for cls, counts in sorted(histograms.items()):
            bins = counts.shape[1]
            for index in np.flatnonzero(counts.sum(axis=0)):
                writer.writerow(
                    [case_id, cls, int(index), bins, int(counts[0, index]), int(counts[1, index])]
                )
    return buffer.getvalue()


def read_histograms(path: Path) -> Histograms:
    """Read ``score_histograms.csv`` back.

    Raises:
        ValueError: a header other than :data:`COLUMNS`, a bad or negative count, a bin
            outside ``[0, bins)``, a bin listed twice or out of order, or several bin
            counts (naming the file and line).
    """
    rows: dict[tuple[str, int], list[tuple[int, int, int]]] = {}
    sizes = set()
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path}: columns {reader.fieldnames}, expected {list(COLUMNS)}")
        try:
            for raw in reader:
                index, bins = int(raw["bin"]), int(raw["bins"])
                positives, negatives = int(raw["positives"]), int(raw["negatives"])
                if not 0 <= index < bins or positives < 0 or negatives < 0:
                    raise ValueError(f"bin {index} of {bins}, counts {positives}, {negatives}")
                sizes.add(bins)
                key = (raw["case"], int(raw["class"]))
                listed = rows.setdefault(key, [])
                if listed and index <= listed[-1][0]:
                    raise ValueError(f"bin {index} of {key} again or out of order")
                listed.append((index, positives, negatives))
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: line {reader.line_num}: {error}") from None
    if len(sizes) > 1:
        raise ValueError(f"{path}: histograms of several bin counts: {sorted(sizes)}")
    out: Histograms = {}
    bins = next(iter(sizes), 0)
    for key, listed in rows.items():
        counts = np.zeros((2, bins), dtype=np.int64)
        for index, positives, negatives in listed:
            counts[0, index] += positives
            counts[1, index] += negatives
        out[key] = counts
    return out
