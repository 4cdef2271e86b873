"""A data-pipeline transform that attaches the maps a loss needs to each sample."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any, Literal

from .region_wise import ac_map, rrw_map
from .signed import CONVENTIONS, signed_distance_map, unsigned_distance_map

MapKind = Literal["signed", "unsigned", "rrw", "ac"]
MAP_KINDS: tuple[str, ...] = ("signed", "unsigned", "rrw", "ac")
#: Where each kind of map goes in a sample dict, matching the losses' keyword arguments.
DEFAULT_OUTPUT_KEYS = {
    "signed": "dist_map",
    "unsigned": "dist_map",
    "rrw": "rw_map",
    "ac": "rw_map",
}


def compute_map(
    kind: str,
    label: Any,
    num_classes: int | None,
    spacing: Sequence[float] | float | None = None,
    convention: str = "paper",
    *,
    batch: bool = False,
    one_hot: bool = False,
) -> Any:
    """The map of ``kind`` (``"signed"``, ``"unsigned"``, ``"rrw"`` or ``"ac"``) of a label.

    One entry point for code that picks the map by name (data pipeline, caches, losses);
    arguments as in :func:`~boundaryloss.maps.signed_distance_map` (``convention`` only
    applies to the signed and unsigned maps, ``spacing`` not to ``"ac"``).
    """
    options = {"batch": batch, "one_hot": one_hot}
    if kind == "signed":
        return signed_distance_map(label, num_classes, spacing, convention, **options)
    if kind == "unsigned":
        return unsigned_distance_map(label, num_classes, spacing, convention, **options)
    if kind == "rrw":
        return rrw_map(label, num_classes, spacing, **options)
    if kind == "ac":
        return ac_map(label, num_classes, **options)
    raise ValueError(f"kind must be one of {MAP_KINDS}, got {kind!r}")


class DistanceMapTransform:
    """Compute a map from a sample's label, after augmentation, in DataLoader workers.

    Use it as the last transform of a pipeline so the map always matches the
    (augmented) label; maps cached before augmentation go stale.

    Args:
        kind: ``"signed"``, ``"unsigned"``, ``"rrw"`` or ``"ac"``.
        num_classes: number of classes C.
        spacing: pixel size per spatial axis. If None and the sample is a dict with a
            ``"spacing"`` entry, that entry is used (per-case spacing).
        convention: for signed/unsigned maps, see
            :func:`boundaryloss.maps.signed_distance_map`.
        label_key: key of the label ``(*spatial)`` or ``(1, *spatial)`` in a dict sample.
        output_key: key the map is written to (default ``"dist_map"`` for distance maps,
            ``"rw_map"`` for region-wise maps, the losses' argument names).

    Called on an array or tensor, returns the ``(C, *spatial)`` map; called on a dict
    (MONAI-style), returns a shallow copy with the map added under ``output_key``.
    """

    def __init__(
        self,
        kind: MapKind,
        num_classes: int,
        spacing: Sequence[float] | float | None = None,
        convention: str = "paper",
        label_key: str = "label",
        output_key: str | None = None,
    ) -> None:
        if kind not in MAP_KINDS:
            raise ValueError(f"kind must be one of {MAP_KINDS}, got {kind!r}")
        if kind in ("signed", "unsigned") and convention not in CONVENTIONS:
            raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
        self.kind = kind
        self.num_classes = num_classes
        self.spacing = spacing
        self.convention = convention
        self.label_key = label_key
        self.output_key = output_key or DEFAULT_OUTPUT_KEYS[kind]

    def _compute(self, label: Any, spacing: Any) -> Any:
        if label.ndim in (3, 4) and label.shape[0] == 1:
            label = label[0]  # a channel-first (1, *spatial) label
        return compute_map(self.kind, label, self.num_classes, spacing, self.convention)

    def __call__(self, sample: Any) -> Any:
        if isinstance(sample, Mapping):
            if self.label_key not in sample:
                raise ValueError(f"sample has no {self.label_key!r} entry (keys: {sorted(sample)})")
            spacing = self.spacing if self.spacing is not None else sample.get("spacing")
            out: MutableMapping[str, Any] = dict(sample)
            out[self.output_key] = self._compute(sample[self.label_key], spacing)
            return out
        return self._compute(sample, self.spacing)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(kind={self.kind!r}, num_classes={self.num_classes}, "
            f"spacing={self.spacing!r}, convention={self.convention!r})"
        )
