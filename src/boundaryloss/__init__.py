"""boundaryloss: boundary (distance-map) and region-wise losses for unbalanced segmentation."""

from .maps import ac_map, rrw_map, signed_distance_map, unsigned_distance_map

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "ac_map",
    "rrw_map",
    "signed_distance_map",
    "unsigned_distance_map",
]
