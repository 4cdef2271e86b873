"""Tiny, fast training configurations on synthetic data (the overrides of ``tiny_config``,
the fixture of tests/conftest.py)."""

from __future__ import annotations

TINY = [
    "train.epochs=2",
    "data.synthetic.cases=10",
    "data.synthetic.shape=[48, 48]",
    "data.synthetic.foreground_fraction=0.05",
    "data.batch_size=4",
    "model.kwargs={base_channels: 4, depth: 2}",
    "train.progress=false",
    "train.figures=false",
]
#: On top of TINY: six 16x16x12 volumes, a 3D network, batches of two.
TINY_3D = [
    "data.synthetic.shape=[16, 16, 12]",
    "data.synthetic.cases=6",
    "data.batch_size=2",
    "model.spatial_dims=3",
]
#: Per number of spatial axes, the overrides of a tiny patch-based run.
TINY_PATCHES = {2: ["data.patch_size=[32, 32]"], 3: [*TINY_3D, "data.patch_size=[8, 8, 8]"]}
