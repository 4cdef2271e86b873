"""``lesions.csv``: sizes in the spacing's unit, the round trip through the file, and
one-line errors for a file that is not a lesion list."""

from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.evaluation.lesion_file import LesionList, read_lesion_file, size_unit


def _maps() -> tuple[np.ndarray, np.ndarray]:
    """Class 1: reference lesions of 2 and 1 voxels, the first found; one false lesion.
    Class 2: nowhere."""
    ref = np.zeros((2, 6, 6), np.int64)
    ref[0, 0, 0:2] = 1
    ref[1, 5, 5] = 1
    pred = np.zeros_like(ref)
    pred[0, 0, 1] = 1
    pred[1, 0, 4:6] = 1
    return pred, ref


def test_rows_by_hand_in_mm3():
    pred, ref = _maps()
    listed = LesionList()
    listed.update("a", pred, ref, (1, 2), (0.5, 1.0, 2.0), "mm")  # 1 mm³ per voxel
    lines = listed.to_csv().splitlines()
    assert lines == [
        "case,class,source,lesion,voxels,size,size_unit,matched",
        "a,1,reference,1,2,2.0,mm3,1",
        "a,1,reference,2,1,1.0,mm3,0",
        "a,1,prediction,1,1,1.0,mm3,1",
        "a,1,prediction,2,2,2.0,mm3,0",
    ]


def test_round_trip_keeps_sizes_flags_and_the_lesion_free_case(tmp_path):
    pred, ref = _maps()
    listed = LesionList()
    listed.update("a", pred, ref, (1, 2), (0.3, 0.7, 1.1), "mm")
    listed.update("b", pred * 0, ref * 0, (1, 2), (0.3, 0.7, 1.1), "mm")
    path = listed.write(tmp_path / "lesions.csv")
    back = read_lesion_file(path)
    assert back.unit == "mm3"
    assert back.to_csv() == listed.to_csv()
    tally = back.tally(["a", "b"], 1)
    assert tally.ref_sizes == pytest.approx([2 * 0.3 * 0.7 * 1.1, 0.3 * 0.7 * 1.1])
    assert tally.recall() == 0.5 and tally.precision() == 0.5 and tally.free_cases == 1


@pytest.mark.parametrize(
    ("ndim", "unit", "expected"),
    [(3, "mm", "mm3"), (2, "mm", "mm2"), (3, "px", "voxels"), (2, "px", "pixels")],
)
def test_size_unit(ndim, unit, expected):
    assert size_unit(ndim, unit) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("case,size\na,1\n", "columns"),
        (
            "case,class,source,lesion,voxels,size,size_unit,matched\na,1,other,1,1,1,mm3,1\n",
            "line 2: source must be one of",
        ),
        (
            "case,class,source,lesion,voxels,size,size_unit,matched\na,x,reference,1,1,1,mm3,1\n",
            "line 2",
        ),
        (
            "case,class,source,lesion,voxels,size,size_unit,matched\n"
            "a,1,reference,1,1,1,mm3,1\na,1,reference,2,1,1,voxels,1\n",
            "several units",
        ),
    ],
)
def test_a_file_that_is_not_a_lesion_list_is_named(tmp_path, text, message):
    path = tmp_path / "lesions.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as error:
        read_lesion_file(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)
