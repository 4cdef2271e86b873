"""Case-level splits: deterministic, grouped, disjoint, saved and loaded."""

from __future__ import annotations

import json
import random

import pytest

from boundaryloss.data.datasets import SliceDataset
from boundaryloss.data.splits import (
    Split,
    group_of,
    kfold_splits,
    load_splits,
    save_splits,
    select_cases,
    train_val_split,
)

from .pipeline_cases import blob_case

IDS = [f"hippocampus_{i:03d}" for i in range(1, 24)]
CHASE = [f"Image_{i:02d}{eye}" for i in range(1, 11) for eye in "LR"]


def test_split_is_deterministic_and_order_independent():
    split = train_val_split(IDS, val_fraction=0.2, seed=3)
    shuffled = IDS[:]
    random.Random(0).shuffle(shuffled)
    assert train_val_split(shuffled, val_fraction=0.2, seed=3) == split
    assert train_val_split(IDS, val_fraction=0.2, seed=4) != split
    assert len(split.val) == round(0.2 * len(IDS)) and not set(split.train) & set(split.val)
    assert sorted(split.train + split.val) == sorted(IDS)
    assert len(train_val_split(IDS, val_count=7).val) == 7


def test_kfold_covers_every_case_once():
    folds = kfold_splits(IDS, k=5, seed=1)
    assert len(folds) == 5
    vals = [case_id for fold in folds for case_id in fold.val]
    assert sorted(vals) == sorted(IDS)
    assert {len(fold.val) for fold in folds} <= {4, 5}
    for fold in folds:
        assert sorted(fold.train + fold.val) == sorted(IDS)
    assert kfold_splits(IDS, k=5, seed=1) == folds


@pytest.mark.parametrize("group", [r"(Image_\d+)[LR]$", lambda case_id: case_id[:-1]])
def test_chase_groups_keep_both_eyes_of_a_child_together(group):
    assert group_of("Image_01L", group) == group_of("Image_01R", group) == "Image_01"
    split = train_val_split(CHASE, val_fraction=0.2, seed=0, group=group)
    assert len(split.val) == 4  # 2 children of 10, both eyes each
    children = lambda ids: {i[:-1] for i in ids}  # noqa: E731
    assert not children(split.train) & children(split.val)
    for fold in kfold_splits(CHASE, k=5, group=group):
        assert not children(fold.train) & children(fold.val) and len(fold.val) == 4


def test_json_round_trip(tmp_path):
    folds = kfold_splits(IDS, k=3)
    path = tmp_path / "splits" / "splits_final.json"
    save_splits(path, folds)
    assert load_splits(path) == folds
    data = json.loads(path.read_text())  # nnU-Net's layout
    assert isinstance(data, list) and set(data[0]) == {"train", "val"}
    single = tmp_path / "one.json"
    save_splits(single, folds[0])
    assert load_splits(single) == [folds[0]]
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_load_rejects_bad_files(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_splits(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"bad\.json.*JSON"):
        load_splits(bad)
    bad.write_text(json.dumps([{"train": ["a"]}]))
    with pytest.raises(ValueError, match=r"entry 0.*'val'"):
        load_splits(bad)
    bad.write_text(json.dumps([{"train": ["a", "b"], "val": ["b"]}]))
    with pytest.raises(ValueError, match="both sides"):
        load_splits(bad)


def test_slices_of_one_case_never_on_both_sides():
    cases = [blob_case(f"case_{i}", shape=(8, 9, 6), seed=i) for i in range(6)]
    split = train_val_split([c.case_id for c in cases], val_count=2, seed=0)
    train = SliceDataset(select_cases(cases, split.train), axis=2)
    val = SliceDataset(select_cases(cases, split.val), axis=2)
    train_ids = {train[i]["case_id"] for i in range(len(train))}
    val_ids = {val[i]["case_id"] for i in range(len(val))}
    assert train_ids == set(split.train) and val_ids == set(split.val)
    assert not train_ids & val_ids
    assert len(train) + len(val) == 6 * 6


def test_bad_split_arguments():
    for fraction in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="val_fraction"):
            train_val_split(IDS, val_fraction=fraction)
    with pytest.raises(ValueError, match="exactly one"):
        train_val_split(IDS)
    with pytest.raises(ValueError, match="exactly one"):
        train_val_split(IDS, val_fraction=0.2, val_count=3)
    with pytest.raises(ValueError, match="val_count"):
        train_val_split(IDS, val_count=len(IDS))
    with pytest.raises(ValueError, match="k must"):
        kfold_splits(IDS, k=1)
    with pytest.raises(ValueError, match="k must"):
        kfold_splits(CHASE, k=11, group=r"(Image_\d+)")
    with pytest.raises(ValueError, match="unique"):
        train_val_split(["a", "a", "b"], val_count=1)
    with pytest.raises(ValueError, match="does not match"):
        train_val_split(["a", "Image_01L"], val_count=1, group=r"(Image_\d+)")
    with pytest.raises(ValueError, match="not in the case source"):
        select_cases([blob_case("a")], ["b"])
    with pytest.raises(ValueError, match="both sides"):
        Split(("a",), ("a",))
