"""LazyForeground: the same draws as the full foreground_locations, computed on demand."""

from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.data.patches import LazyForeground, foreground_locations, random_patch_start

from .pipeline_cases import blob_label


@pytest.mark.parametrize("shape", [(40, 37), (12, 16, 10)])
def test_same_classes_coordinates_and_patch_starts(shape):
    label = blob_label(shape, num_classes=4, seed=2)
    full = foreground_locations(label, max_per_class=None)
    lazy = LazyForeground(label)
    assert sorted(lazy) == sorted(full) == [1, 2, 3]
    for k in full:
        coords = lazy[k]
        assert len(coords) == len(full[k])
        for i in (0, len(coords) // 2, len(coords) - 1):
            np.testing.assert_array_equal(coords[i], full[k][i])
    patch = tuple(n // 2 for n in shape)
    for seed in range(20):
        a = random_patch_start(np.random.default_rng(seed), shape, patch, full, 0.5)
        b = random_patch_start(np.random.default_rng(seed), shape, patch, lazy, 0.5)
        assert a == b


def test_background_only_label_has_no_classes():
    lazy = LazyForeground(np.zeros((5, 5), dtype=np.int64))
    assert not lazy and len(lazy) == 0
    with pytest.raises(KeyError):
        lazy[1]
