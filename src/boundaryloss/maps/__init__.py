"""Distance and region-wise maps computed from label maps.

All functions take an integer label map ``(*spatial)`` (2D or 3D, NumPy or torch),
optionally one-hot ``(C, *spatial)`` and/or batched, and return a float32
``(C, *spatial)`` map per class (one-vs-rest) of the same array type.
"""

from ._backend import CPUFallbackWarning, cpu_backend, set_backend, set_num_threads
from .region_wise import ac_map, rrw_map
from .signed import CONVENTIONS, signed_distance_map, unsigned_distance_map
from .spec import MAP_ARGUMENTS, MapSpec
from .transform import MAP_KINDS, DistanceMapTransform, compute_map

__all__ = [
    "CONVENTIONS",
    "MAP_ARGUMENTS",
    "MAP_KINDS",
    "CPUFallbackWarning",
    "DistanceMapTransform",
    "MapSpec",
    "ac_map",
    "compute_map",
    "cpu_backend",
    "rrw_map",
    "set_backend",
    "set_num_threads",
    "signed_distance_map",
    "unsigned_distance_map",
]
