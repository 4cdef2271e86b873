"""score_histograms.csv: written from each case's histograms, read back exactly; bad
files are refused naming the line."""

from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.evaluation.histogram_file import COLUMNS, histograms_csv, read_histograms


def test_round_trip_keeps_every_count(tmp_path):
    first = {1: np.array([[0, 2, 0, 1], [5, 0, 0, 3]]), 2: np.zeros((2, 4), np.int64)}
    second = {1: np.array([[0, 0, 0, 0], [9, 1, 0, 0]]), 2: np.array([[1, 0, 0, 0], [0, 0, 0, 2]])}
    text = histograms_csv(["a", "b"], [first, second])
    lines = text.splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert lines[1:4] == ["a,1,0,4,0,5", "a,1,1,4,2,0", "a,1,3,4,1,3"]  # empty bins left out
    path = tmp_path / "score_histograms.csv"
    path.write_text(text)
    read = read_histograms(path)
    assert set(read) == {("a", 1), ("b", 1), ("b", 2)}  # class 2 of a: no pixel at all
    assert np.array_equal(read[("a", 1)], first[1]) and np.array_equal(read[("b", 2)], second[2])


@pytest.mark.parametrize(
    "text, match",
    [
        ("case,class,bin\na,1,0\n", "columns"),
        ("case,class,bin,bins,positives,negatives\na,1,4,4,0,1\n", "line 2: bin 4 of 4"),
        ("case,class,bin,bins,positives,negatives\na,1,0,4,-1,1\n", "line 2"),
        ("case,class,bin,bins,positives,negatives\na,1,0,4,x,1\n", "line 2"),
        ("case,class,bin,bins,positives,negatives\na,1,0,4,0,1\nb,1,0,8,0,1\n", "several bin"),
        ("case,class,bin,bins,positives,negatives\na,1,2,4,0,1\na,1,2,4,0,1\n", "line 3: bin 2"),
    ],
)
def test_bad_files_are_refused(tmp_path, text, match):
    path = tmp_path / "score_histograms.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        read_histograms(path)
