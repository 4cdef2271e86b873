"""The on-disk whole-volume map cache: hits, misses, corrupt files, concurrent writers."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest

import boundaryloss.data.cache as cache_module
from boundaryloss.data.cache import MapCache, map_key
from boundaryloss.data.datasets import PatchDataset
from boundaryloss.maps import DistanceMapTransform, rrw_map, signed_distance_map

from .pipeline_cases import blob_case, blob_label

SPACING = (1.0, 0.5, 2.0)


@pytest.fixture
def counted(monkeypatch):
    """Count calls of the map computation behind the cache."""
    calls = []
    original = cache_module.compute_map

    def counting(*args, **kwargs):
        calls.append(args[0])  # the map kind
        return original(*args, **kwargs)

    monkeypatch.setattr(cache_module, "compute_map", counting)
    return calls


def test_hit_does_not_recompute(tmp_path, counted):
    label = blob_label((10, 12, 9))
    cache = MapCache(tmp_path)
    first = cache.get(label, "signed", 3, SPACING)
    np.testing.assert_array_equal(first, signed_distance_map(label, 3, SPACING))
    second = MapCache(tmp_path).get(label.copy(), "signed", 3, SPACING)  # a fresh process's view
    np.testing.assert_array_equal(second, first)
    assert counted == ["signed"] and cache.misses == 1
    assert len(list(tmp_path.glob("*.npy"))) == 1
    mapped = MapCache(tmp_path, mmap=True).get(label, "signed", 3, SPACING)
    assert isinstance(mapped, np.memmap) and counted == ["signed"]


def test_key_changes_with_label_and_every_setting(tmp_path, counted):
    label = blob_label((10, 12, 9))
    base = map_key(label, "signed", 3, SPACING, "paper")
    changed = label.copy()
    changed[0, 0, 0] = 1 - changed[0, 0, 0] if changed[0, 0, 0] < 2 else 0
    variants = [
        map_key(changed, "signed", 3, SPACING, "paper"),
        map_key(label.astype(np.int32), "signed", 3, SPACING, "paper"),
        map_key(label.reshape(12, 10, 9), "signed", 3, SPACING, "paper"),
        map_key(label, "unsigned", 3, SPACING, "paper"),
        map_key(label, "signed", 4, SPACING, "paper"),
        map_key(label, "signed", 3, (1.0, 0.5, 2.0000001), "paper"),
        map_key(label, "signed", 3, None, "paper"),
        map_key(label, "signed", 3, SPACING, "official"),
    ]
    assert len({base, *variants}) == len(variants) + 1
    assert map_key(label, "rrw", 3, SPACING, "paper") == map_key(label, "rrw", 3, SPACING, "rw")
    cache = MapCache(tmp_path)
    cache.get(label, "signed", 3, SPACING)
    cache.get(label, "rrw", 3, SPACING)
    np.testing.assert_array_equal(cache.get(label, "rrw", 3, SPACING), rrw_map(label, 3, SPACING))
    assert counted == ["signed", "rrw"] and cache.hits == 1


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong_shape"])
def test_corrupt_file_is_recomputed_with_a_warning(tmp_path, counted, damage):
    label = blob_label((10, 12, 9))
    cache = MapCache(tmp_path)
    expected = cache.get(label, "signed", 3, SPACING)
    path = cache.path(label, "signed", 3, SPACING)
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "garbage":
        path.write_bytes(b"not a numpy file at all")
    else:
        np.save(path, np.zeros((2, 3), np.float32))
    with pytest.warns(RuntimeWarning, match="recomputing"):
        again = cache.get(label, "signed", 3, SPACING)
    np.testing.assert_array_equal(again, expected)
    assert len(counted) == 2
    np.testing.assert_array_equal(np.load(path), expected)  # overwritten with a good file
    cache.get(label, "signed", 3, SPACING)
    assert len(counted) == 2


def _worker(args):
    directory, _seed = args
    label = blob_label((20, 24, 18), seed=0)
    return MapCache(directory).get(label, "signed", 3, SPACING).sum()


def test_concurrent_writers_leave_one_complete_file(tmp_path):
    with multiprocessing.get_context("fork").Pool(4) as pool:
        sums = pool.map(_worker, [(tmp_path, i) for i in range(8)])
    assert len(set(sums)) == 1
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".npy"  # no temporary files left
    label = blob_label((20, 24, 18), seed=0)
    np.testing.assert_array_equal(np.load(files[0]), signed_distance_map(label, 3, SPACING))


def test_patch_dataset_reads_whole_maps_from_the_cache(tmp_path, counted):
    cases = [blob_case(f"c{i}", shape=(10, 12, 9), seed=i, spacing=SPACING) for i in range(2)]
    maps = [DistanceMapTransform("signed", 3), DistanceMapTransform("ac", 3)]
    PatchDataset(cases, (4, 4, 4), maps=maps, cache=MapCache(tmp_path))
    assert sorted(counted) == ["ac", "ac", "signed", "signed"]
    dataset = PatchDataset(cases, (4, 4, 4), maps=maps, cache=MapCache(tmp_path))
    assert len(counted) == 4
    assert set(dataset[0]) >= {"dist_map", "rw_map"}


def test_bad_kind(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        MapCache(tmp_path).get(np.zeros((3, 3), np.int64), "geodesic", 2)
