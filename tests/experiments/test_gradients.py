"""The gradient-sign diagnostic's maps: every channel, as its loss reads them."""

from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.experiments.gradients import region_wise_map
from boundaryloss.maps import rrw_map, signed_distance_map


@pytest.mark.parametrize("kind", ["boundary", "rrw"])
def test_the_diagnostic_map_holds_every_channel(kind):
    labels = np.zeros((2, 12, 10), dtype=np.int64)
    labels[:, 2:7, 3:8] = 1
    labels[0, 8:11, 1:4] = 2
    labels[1, 1:3, 6:9] = 2
    spacing = (0.8, 1.2)
    got = region_wise_map(kind, labels, 3, spacing)
    if kind == "boundary":  # the region-wise paper's boundary map: signed, 'rw' convention
        expected = signed_distance_map(labels, 3, spacing, "rw", batch=True)
    else:
        expected = rrw_map(labels, 3, spacing, batch=True)
    np.testing.assert_array_equal(got, expected)
    assert got[:, 0].any()  # the background, which negative_share reads too
