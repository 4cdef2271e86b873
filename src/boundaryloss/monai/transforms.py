"""MONAI array and dictionary transforms computing distance / region-wise maps of labels."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, ClassVar

from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.data.meta_obj import get_track_meta
from monai.transforms import InvertibleTransform, MapTransform, Transform
from monai.utils import TransformBackends, convert_to_tensor, ensure_tuple

from ..maps.spec import MapSpec
from ..maps.transform import DistanceMapTransform, MapKind, compute_map


class DistanceMap(Transform):
    """Map of a channel-first label, as a ``MetaTensor`` carrying the label's metadata.

    Convention:
        The input is a MONAI label, channel first: class indices ``(1, *spatial)`` or
        one-hot masks ``(C, *spatial)`` (``AsDiscrete(to_onehot=C)``), 2D or 3D. The
        output is the float32 ``(C, *spatial)`` map of ``kind`` (see
        :func:`boundaryloss.maps.compute_map`), on the label's device. Distances are in
        physical units: ``spacing`` if given, else the label's ``MetaTensor`` affine
        (column lengths, MONAI's ``pixdim``, in the array's spatial order), else unit
        voxels. After a random affine with scaling the affine (and so the spacing)
        changes with it: distances stay in the world units of the original image.

    Args:
        num_classes: number of classes C.
        kind: ``"signed"``, ``"unsigned"``, ``"rrw"`` or ``"ac"``.
        convention: signed/unsigned convention, ``"paper"``, ``"official"`` (MONAI's
            ``BoundaryLoss`` map) or ``"rw"``.
        spacing: fixed pixel size per spatial axis, overriding the metadata.

    Raises:
        ValueError: unknown kind or convention; a label whose channel count is neither 1
            nor C.
    """

    backend: ClassVar[list] = [TransformBackends.TORCH, TransformBackends.NUMPY]

    def __init__(
        self,
        num_classes: int,
        kind: MapKind = "signed",
        convention: str = "paper",
        spacing: Sequence[float] | float | None = None,
    ) -> None:
        # The core transform validates the options and owns the spacing precedence.
        self.core = DistanceMapTransform(kind, num_classes, spacing, convention)

    def __call__(self, label: Any, spacing: Sequence[float] | float | None = None) -> Any:
        """Map of ``label`` ``(1 or C, *spatial)``; ``spacing`` is the fallback used when
        neither the constructor nor the label's metadata gives one."""
        core = self.core
        channels = label.shape[0]
        if label.ndim not in (3, 4) or channels not in (1, core.num_classes):
            raise ValueError(
                f"label must be channel first (1, *spatial) or one-hot ({core.num_classes}, "
                f"*spatial) with 2 or 3 spatial axes, got shape {tuple(label.shape)}"
            )
        tensor = convert_to_tensor(label, track_meta=get_track_meta())
        used_spacing = core.spacing_of(tensor, spacing, spatial_ndim=label.ndim - 1)
        one_hot = channels == core.num_classes and channels > 1
        source = tensor if one_hot else tensor[0]
        if isinstance(source, MetaTensor):
            source = source.as_tensor()
        out = compute_map(
            core.kind, source, core.num_classes, used_spacing, core.convention, one_hot=one_hot
        )
        if not get_track_meta():
            return out
        result = MetaTensor(out)
        if isinstance(tensor, MetaTensor):
            result.copy_meta_from(tensor)
        return result


class DistanceMapd(MapTransform, InvertibleTransform):
    """Dictionary form of :class:`DistanceMap`: add each label's map to the sample.

    Put it after MONAI's random spatial transforms (``RandCropByPosNegLabeld``,
    ``RandAffined``, ``Rand3DElasticd``, ``RandFlipd``...) so each map is that of the
    augmented label. The map is a ``MetaTensor`` with a copy of the label's metadata and
    ``applied_operations``, so ``Invertd(keys=map_key, orig_keys=label_key)`` can carry
    it back to the original space like the label, if wanted.

    Inverse:
        The map is derived data, not a transformed input: :meth:`inverse` removes the map
        keys and leaves every other entry alone, so ``Compose.inverse`` gives back the
        original sample. Recompute the map from the inverted label if it is needed there
        (a resampled map is not the map of the resampled label).

    Args:
        keys: label keys (channel first, ``(1, *spatial)`` indices or ``(C, *spatial)``
            one-hot).
        num_classes: number of classes C.
        kind: ``"signed"``, ``"unsigned"``, ``"rrw"`` or ``"ac"``.
        convention: signed/unsigned convention (``"paper"``, ``"official"``, ``"rw"``).
        spacing: fixed pixel size, overriding the labels' metadata. Without it the
            spacing is the label's affine, else the sample's ``"spacing"`` entry (as in
            :class:`boundaryloss.maps.DistanceMapTransform`), else unit voxels.
        map_keys: where each map goes, one per key; default ``"dist_map"`` (signed,
            unsigned) or ``"rw_map"`` (RRW, AC), the losses' argument names. Needed when
            there is more than one key.
        allow_missing_keys: don't raise when a key is missing.

    Raises:
        ValueError: as :class:`DistanceMap`; ``map_keys`` of the wrong length.
    """

    backend = DistanceMap.backend

    def __init__(
        self,
        keys: KeysCollection,
        num_classes: int,
        kind: MapKind = "signed",
        convention: str = "paper",
        spacing: Sequence[float] | float | None = None,
        map_keys: KeysCollection | None = None,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.converter = DistanceMap(num_classes, kind, convention, spacing)
        if map_keys is None:
            if len(self.keys) != 1:
                raise ValueError(f"map_keys is required with more than one key, got {self.keys}")
            map_keys = MapSpec(kind, convention).argument
        self.map_keys = ensure_tuple(map_keys)
        if len(self.map_keys) != len(self.keys):
            raise ValueError(
                f"map_keys must name one output per key: keys={self.keys}, map_keys={self.map_keys}"
            )

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        for key, map_key in self.key_iterator(d, self.map_keys):
            d[map_key] = self.converter(d[key], d.get("spacing"))
        return d

    def inverse(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        for map_key in self.map_keys:
            d.pop(map_key, None)
        return d
