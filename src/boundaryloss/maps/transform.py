"""A data-pipeline transform that attaches the maps a loss needs to each sample."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any, Literal

import numpy as np

from .._validation import check_one_of
from .region_wise import ac_map, rrw_map
from .signed import signed_distance_map, unsigned_distance_map
from .spec import MAP_KINDS, MapSpec

MapKind = Literal["signed", "unsigned", "rrw", "ac"]


def compute_map(
    kind: str,
    label: Any,
    num_classes: int | None,
    spacing: Sequence[float] | float | None = None,
    convention: str = "paper",
    *,
    batch: bool = False,
    one_hot: bool = False,
    include_background: bool = True,
    classes: Sequence[int] | None = None,
) -> Any:
    """The map of ``kind`` (``"signed"``, ``"unsigned"``, ``"rrw"`` or ``"ac"``) of a label.

    One entry point for code that picks the map by name (data pipeline, caches, losses);
    arguments as in :func:`~boundaryloss.maps.signed_distance_map` (``convention`` only
    applies to the signed and unsigned maps, ``spacing`` not to ``"ac"``).
    ``include_background`` and ``classes`` select the channels computed by the distance
    kinds (the others are left zeros); the region-wise kinds compute every channel
    (one pass gives them all) and must be called without a selection.

    Raises:
        ValueError: a channel selection for ``"rrw"`` or ``"ac"``; see the map functions.
    """
    check_one_of(kind, MAP_KINDS, "kind")
    options = {"batch": batch, "one_hot": one_hot}
    selection = {"include_background": include_background, "classes": classes}
    if kind == "signed":
        return signed_distance_map(label, num_classes, spacing, convention, **options, **selection)
    if kind == "unsigned":
        return unsigned_distance_map(
            label, num_classes, spacing, convention, **options, **selection
        )
    if not include_background or classes is not None:
        raise ValueError(
            f"kind {kind!r} computes every channel; got include_background="
            f"{include_background!r}, classes={classes!r}"
        )
    if kind == "rrw":
        return rrw_map(label, num_classes, spacing, **options)
    return ac_map(label, num_classes, **options)


def metadata_spacing(label: Any, spatial_ndim: int) -> tuple[float, ...] | None:
    """Pixel size of ``label`` read from its own metadata, or None when it carries none.

    Duck-typed on MONAI's ``MetaTensor`` (no MONAI import): a tensor with ``.meta`` and
    an ``.affine`` ``(R+1, R+1)`` gives, for each of the first ``spatial_ndim`` array
    axes after the channel, the length of the matching affine column,
    ``sqrt(sum_i affine[i, j]**2)`` over the R rotation rows (as MONAI's
    ``affine_to_spacing``, whose ``pixdim`` is in the same channel-first spatial order).
    Using whole columns keeps the spacing right for a 2D slice of an oblique volume.
    A batched MetaTensor (``(B, R+1, R+1)`` affine) is not a single sample: None.
    """
    if not (hasattr(label, "meta") and hasattr(label, "affine")):
        return None
    affine = label.affine
    if affine is None:
        return None
    affine = np.asarray(affine.detach().cpu() if hasattr(affine, "detach") else affine, float)
    if affine.ndim != 2 or affine.shape[0] != affine.shape[1] or affine.shape[1] <= spatial_ndim:
        return None
    columns = affine[:-1, :spatial_ndim]
    return tuple(float(v) for v in np.sqrt((columns**2).sum(axis=0)))


class DistanceMapTransform:
    """Compute a map from a sample's label, after augmentation, in DataLoader workers.

    Use it as the last transform of a pipeline so the map always matches the
    (augmented) label; maps cached before augmentation go stale.

    Args:
        kind: ``"signed"``, ``"unsigned"``, ``"rrw"`` or ``"ac"``.
        num_classes: number of classes C.
        spacing: pixel size per spatial axis (array axis order). If None it is read
            from the sample: first the label's own metadata (a MONAI ``MetaTensor``'s
            affine, see :func:`metadata_spacing`; it follows MONAI's resampling and
            rotations), else a dict sample's ``"spacing"`` entry (the project's
            datasets), else unit spacing. Pass it explicitly to override both.
        convention: for signed/unsigned maps, see
            :func:`boundaryloss.maps.signed_distance_map`.
        label_key: key of the label ``(*spatial)`` or ``(1, *spatial)`` in a dict sample.
        output_key: key the map is written to (default ``"dist_map"`` for distance maps,
            ``"rw_map"`` for region-wise maps, the losses' argument names).
        include_background: for distance maps, whether channel 0 is computed.
        classes: for distance maps, the channels computed (None: all, or all but 0
            without ``include_background``); the others are left zeros, so give them
            only when every consumer of the map reads the selected channels alone (see
            :class:`~boundaryloss.maps.MapSpec`, :meth:`from_spec`).

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
        include_background: bool = True,
        classes: Sequence[int] | None = None,
    ) -> None:
        # checks kind, convention and classes; gives the default key
        spec = MapSpec(kind, convention, include_background=include_background, classes=classes)
        self.kind = kind
        self.num_classes = num_classes
        self.spacing = spacing
        self.convention = spec.convention or convention
        self.label_key = label_key
        self.output_key = output_key or spec.argument
        self.spec = spec

    @classmethod
    def from_spec(
        cls, spec: MapSpec, num_classes: int, spacing: Sequence[float] | float | None = None
    ) -> DistanceMapTransform:
        """The transform computing the map ``spec`` describes (its channels only) under
        the spec's ``argument``, the keyword of the loss that declared it."""
        return cls(
            spec.kind,
            num_classes,
            spacing,
            convention=spec.convention or "paper",
            output_key=spec.argument,
            include_background=spec.include_background,
            classes=spec.classes,
        )

    def spacing_of(
        self, label: Any, sample_spacing: Any = None, spatial_ndim: int | None = None
    ) -> Any:
        """The spacing used for ``label``: explicit, else the label's metadata, else
        ``sample_spacing`` (a dict sample's ``"spacing"`` entry), else None (unit).

        ``spatial_ndim`` defaults to this transform's reading of ``label``: a leading
        axis of length 1 on a 3D/4D label is a channel.
        """
        if self.spacing is not None:
            return self.spacing
        if spatial_ndim is None:
            spatial_ndim = label.ndim - int(label.ndim in (3, 4) and label.shape[0] == 1)
        from_meta = metadata_spacing(label, spatial_ndim)
        return from_meta if from_meta is not None else sample_spacing

    def _compute(self, label: Any, spacing: Any) -> Any:
        if label.ndim in (3, 4) and label.shape[0] == 1:
            label = label[0]  # a channel-first (1, *spatial) label
        return self.spec.compute(label, self.num_classes, spacing)

    def __call__(self, sample: Any) -> Any:
        if isinstance(sample, Mapping):
            if self.label_key not in sample:
                raise ValueError(f"sample has no {self.label_key!r} entry (keys: {sorted(sample)})")
            label = sample[self.label_key]
            out: MutableMapping[str, Any] = dict(sample)
            out[self.output_key] = self._compute(
                label, self.spacing_of(label, sample.get("spacing"))
            )
            return out
        return self._compute(sample, self.spacing_of(sample))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(kind={self.kind!r}, num_classes={self.num_classes}, "
            f"spacing={self.spacing!r}, convention={self.convention!r}, "
            f"include_background={self.spec.include_background!r}, "
            f"classes={self.spec.classes!r})"
        )
