"""The case record: its spacing unit, kept through the pipeline, and shared by a dataset."""

from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.data import Case, resize_case, slice_case
from boundaryloss.data.case import MILLIMETRES, PIXELS, SPACING_UNITS, shared_spacing_unit


def _case(unit: str, shape=(6, 8, 4)) -> Case:
    label = np.zeros(shape, np.int64)
    return Case("c", label[None].astype(np.float32), label, (0.5,) * len(shape), spacing_unit=unit)


def test_units():
    assert SPACING_UNITS == (MILLIMETRES, PIXELS) == ("mm", "px")


def test_the_unit_is_required_and_an_unknown_unit_is_refused():
    # A reader that forgets the unit fails, instead of claiming millimetres.
    label = np.zeros((6, 8), np.int64)
    with pytest.raises(TypeError, match="spacing_unit"):
        Case("c", label[None].astype(np.float32), label, (0.5, 0.5))
    assert _case("px").spacing_unit == "px"
    with pytest.raises(ValueError, match=r"case c: spacing_unit must be one of .*got 'pixels'"):
        _case("pixels")


@pytest.mark.parametrize("unit", SPACING_UNITS)
def test_slicing_resizing_and_copies_keep_the_unit(unit):
    case = _case(unit)
    assert slice_case(case, 2, 1).spacing_unit == unit
    resized = resize_case(case, (3, 4, 2))
    assert resized.spacing == (1.0, 1.0, 1.0) and resized.spacing_unit == unit
    assert case.with_arrays(fov=None).spacing_unit == unit


def test_shared_spacing_unit():
    assert shared_spacing_unit(["px", "px"]) == "px"
    assert shared_spacing_unit(iter(["mm"])) == "mm"
    with pytest.raises(ValueError, match=r"different units \(mm, px\)"):
        shared_spacing_unit(["px", "mm", "px"])


def test_shared_spacing_unit_of_no_cases_is_refused():
    with pytest.raises(ValueError, match="no cases: their spacing has no unit"):
        shared_spacing_unit([])
