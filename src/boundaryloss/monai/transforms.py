"""MONAI array and dictionary transforms computing distance / region-wise maps of labels.

Each map records which map it is (its :class:`~boundaryloss.maps.MapSpec`) in its
``MetaTensor`` metadata under :data:`MAP_SPEC_KEY`, so that
:class:`~boundaryloss.monai.MapLoss` can check it against what the loss needs.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict
from typing import Any, ClassVar

from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.data.meta_obj import get_track_meta
from monai.transforms import InvertibleTransform, MapTransform, Transform
from monai.utils import TransformBackends, convert_to_tensor, ensure_tuple
from torch import nn

from ..losses.requirements import required_maps
from ..maps.spec import MapSpec
from ..maps.transform import DistanceMapTransform, MapKind

#: The ``MetaTensor.meta`` key under which a map records its spec (as JSON).
MAP_SPEC_KEY = "boundaryloss_map"


def map_spec_of(tensor: Any) -> MapSpec | None:
    """The spec a map computed by :class:`DistanceMap` records in its metadata, or None
    for a map without one (a plain tensor, metadata tracking off, a map made elsewhere).

    A batch collated by MONAI holds one record per sample; they must agree.

    Raises:
        ValueError: a record that is not a map spec, or samples of one batch holding
            different maps.
    """
    meta = getattr(tensor, "meta", None)
    if not isinstance(meta, Mapping) or MAP_SPEC_KEY not in meta:
        return None
    records = meta[MAP_SPEC_KEY]
    records = [records] if isinstance(records, str) else list(records)
    if len(set(records)) != 1:
        raise ValueError(f"the samples of the batch hold different maps: {sorted(set(records))}")
    try:
        return MapSpec(**json.loads(records[0]))
    except (TypeError, ValueError) as error:
        raise ValueError(f"{MAP_SPEC_KEY} {records[0]!r} is not a map spec ({error})") from None


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

        The map's metadata records its spec under :data:`MAP_SPEC_KEY`
        (:func:`map_spec_of` reads it back).

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

    @classmethod
    def from_spec(
        cls, spec: MapSpec, num_classes: int, spacing: Sequence[float] | float | None = None
    ) -> DistanceMap:
        """The transform computing the map ``spec`` describes, its channels only (the
        others zeros), as :meth:`boundaryloss.maps.DistanceMapTransform.from_spec`."""
        transform = cls(num_classes, spec.kind, spec.convention or "paper", spacing)
        transform.core = DistanceMapTransform.from_spec(spec, num_classes, spacing)
        return transform

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
        out = core.spec.compute(source, core.num_classes, used_spacing, one_hot=one_hot)
        if not get_track_meta():
            return out
        result = MetaTensor(out)
        if isinstance(tensor, MetaTensor):
            result.copy_meta_from(tensor)
        result.meta[MAP_SPEC_KEY] = json.dumps(asdict(core.spec), sort_keys=True)
        return result


class DistanceMapd(MapTransform, InvertibleTransform):
    """Dictionary form of :class:`DistanceMap`: add each label's map to the sample.

    Put it after MONAI's random spatial transforms (``RandCropByPosNegLabeld``,
    ``RandAffined``, ``Rand3DElasticd``, ``RandFlipd``...) so each map is that of the
    augmented label. :meth:`from_loss` computes the maps a loss needs, without naming
    their kind here. The map is a ``MetaTensor`` with a copy of the label's metadata and
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
        converter = DistanceMap(num_classes, kind, convention, spacing)
        if map_keys is None:
            if len(self.keys) != 1:
                raise ValueError(f"map_keys is required with more than one key, got {self.keys}")
            map_keys = converter.core.spec.argument
        self.map_keys = ensure_tuple(map_keys)
        if len(self.map_keys) != len(self.keys):
            raise ValueError(
                f"map_keys must name one output per key: keys={self.keys}, map_keys={self.map_keys}"
            )
        #: label key -> the (map key, transform) pairs computed from it
        pairs = zip(self.keys, self.map_keys, strict=True)
        self.outputs: dict[Hashable, tuple[tuple[Hashable, DistanceMap], ...]] = {
            key: ((map_key, converter),) for key, map_key in pairs
        }

    @classmethod
    def from_loss(
        cls,
        loss: nn.Module,
        num_classes: int,
        keys: KeysCollection = "label",
        spacing: Sequence[float] | float | None = None,
        allow_missing_keys: bool = False,
    ) -> DistanceMapd:
        """The transform computing every map ``loss`` takes precomputed, each under the
        keyword that takes it (what :class:`~boundaryloss.monai.MapLoss` passes on).

        The maps are those :func:`~boundaryloss.losses.required_maps` names: the kind
        and convention each term declares, only the channels the terms read.

        Args:
            loss: a loss term or a :class:`~boundaryloss.losses.CompoundLoss`.
            num_classes: number of classes C.
            keys: the one label key the maps are computed from.
            spacing: fixed pixel size, overriding the label's metadata (as in the
                constructor).
            allow_missing_keys: don't raise when the label is missing.

        Raises:
            ValueError: a loss that takes no precomputed map, or whose terms need
                different maps under one keyword; more than one key.

        Example:
            >>> from boundaryloss.losses import BoundaryLoss
            >>> transform = DistanceMapd.from_loss(BoundaryLoss(include_background=False), 3)
            >>> transform.map_keys
            ('dist_map',)
        """
        specs = required_maps(loss)
        if not specs:
            raise ValueError(
                f"{type(loss).__name__} takes no precomputed map (it declares none in "
                "map_requirement()): it needs no DistanceMapd"
            )
        keys = ensure_tuple(keys)
        if len(keys) != 1:
            raise ValueError(f"from_loss computes the maps of one label key, got {keys}")
        first = specs[0]
        transform = cls(
            keys,
            num_classes,
            first.kind,
            first.convention or "paper",
            spacing,
            map_keys=first.argument,
            allow_missing_keys=allow_missing_keys,
        )
        transform.map_keys = tuple(spec.argument for spec in specs)
        transform.outputs = {
            keys[0]: tuple(
                (spec.argument, DistanceMap.from_spec(spec, num_classes, spacing)) for spec in specs
            )
        }
        return transform

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        for key in self.key_iterator(d):
            for map_key, converter in self.outputs[key]:
                d[map_key] = converter(d[key], d.get("spacing"))
        return d

    def inverse(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        for map_key in self.map_keys:
            d.pop(map_key, None)
        return d
