"""The spacing unit of a run's data: one for every training and validation case."""

from __future__ import annotations

import pytest

from boundaryloss.training import data as run_data
from boundaryloss.training.data import build_run_data, validation_dataset
from tests.tiny_runs import TINY_PATCHES


def _build(config, dims: int):
    return build_run_data(config.data, [], None, dims, 0)


@pytest.mark.parametrize("dims", [2, 3])
def test_the_cases_unit_is_the_runs(tiny_config, dims):
    data = _build(tiny_config(*TINY_PATCHES[dims]), dims)
    assert data.spacing_unit == "px"  # synthetic data: no physical size


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("where", ["train", "val"])
def test_a_case_in_another_unit_is_refused(tiny_config, monkeypatch, dims, where):
    config = tiny_config(*TINY_PATCHES[dims])
    split = _build(config, dims).split
    # Not the first training case: every case's unit counts, not the first one's.
    odd = split.train[-1] if where == "train" else split.val[-1]
    cases = run_data.build_cases(config.data)
    mixed = [c.with_arrays(spacing_unit="mm") if c.case_id == odd else c for c in cases]
    monkeypatch.setattr(run_data, "build_cases", lambda *args, **kwargs: mixed)
    with pytest.raises(ValueError, match=r"^the cases' spacing is in different units \(mm, px\)"):
        built = _build(config, dims)  # a training case: refused here
        assert where == "val"
        for _ in validation_dataset(built):  # a validation case: refused when it is read
            pass
