"""The worked example of docs/monai.md runs end to end on real hippocampus cases, tiny."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

pytest.importorskip("monai")

from boundaryloss.monai import example

DATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "hippocampus").resolve()
TINY = example.ExampleConfig(
    num_train=2,
    num_val=1,
    epochs=2,
    patch_size=(16, 16, 16),
    samples_per_case=1,
    batch_size=2,
    channels=(4, 8),
    rebalance_step=0.25,
)


def _data() -> Path:
    for root in (DATA, Path("/work/shared/data/hippocampus")):
        if (root / "imagesTr").is_dir():
            return root
    pytest.skip("the shared hippocampus data is not available")


def test_worked_example_trains_and_validates_tiny():
    history = example.train(_data(), TINY)
    assert [r["epoch"] for r in history] == [0, 1]
    assert [r["weight_gdl"] for r in history] == [1.0, 0.75]  # Rebalance steps per epoch
    for record in history:
        assert math.isfinite(record["loss"])
        assert 0.0 <= record["dice_anterior"] <= 1.0 and 0.0 <= record["dice_posterior"] <= 1.0


def test_example_transforms_give_maps_of_the_augmented_label():
    import numpy as np

    from boundaryloss.maps import signed_distance_map

    files = example.hippocampus_files(_data())[:1]
    sample = example.train_transforms(TINY).set_random_state(1)(files[0])[0]
    label = sample["label"]
    assert sample["dist_map"].shape == (3, 16, 16, 16)
    expected = signed_distance_map(np.rint(label[0].numpy()).astype(np.int64), 3, (1.0, 1.0, 1.0))
    expected[0] = 0  # the loss reads the foreground classes only: channel 0 is not computed
    np.testing.assert_allclose(sample["dist_map"].numpy(), expected, atol=1e-5)


def test_cli_reports_a_missing_dataset_in_one_line(tmp_path, capsys):
    assert example.main([str(tmp_path), "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: data:") and "\n" not in err and str(tmp_path) in err


def test_docs_excerpt_is_the_example_code():
    import inspect
    import re

    docs = (Path(__file__).resolve().parents[2] / "docs" / "monai.md").read_text()
    section = docs[docs.index("## Worked example") :]
    excerpt = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    source = {line.strip() for line in inspect.getsource(example).splitlines()}
    code = [line.strip() for line in excerpt.splitlines()]
    missing = [line for line in code if line and line != "..." and not line.startswith("#")]
    missing = [line for line in missing if line not in source]
    assert missing == []
