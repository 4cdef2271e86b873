"""Feed the maps of a MONAI batch dict to a boundaryloss loss.

MONAI's ``SupervisedTrainer`` calls ``loss_function(pred, targets)`` with whatever its
``prepare_batch`` returned as targets. :class:`PrepareBatchWithMaps` returns the label
*and* the batch's maps as a dict, and :class:`MapLoss` unpacks that dict into the loss's
``dist_map=`` / ``rw_map=`` arguments, after checking each map against what the loss
needs. In a plain loop, call ``MapLoss`` with the batch dict itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from monai.engines.utils import PrepareBatch
from torch import nn

from ..losses.requirements import map_mismatch, required_maps
from ..maps import MAP_ARGUMENTS, MapSpec
from .transforms import map_spec_of


def _plain(tensor: Any) -> Any:
    """A MONAI ``MetaTensor`` as a plain tensor (no metadata tracking in the loss)."""
    return tensor.as_tensor() if hasattr(tensor, "as_tensor") else tensor


class MapLoss(nn.Module):
    """Call ``loss(pred, label, dist_map=..., rw_map=...)`` with the maps of a batch dict.

    Convention:
        ``target`` is a mapping holding the label under ``label_key`` and the maps the
        loss needs (:func:`~boundaryloss.losses.required_maps`) under the keys of
        ``map_keys``, as :meth:`DistanceMapd.from_loss
        <boundaryloss.monai.DistanceMapd.from_loss>` writes them; for a loss that takes
        no map it may be the label tensor itself. Only the maps the loss needs are
        passed. A map that records its spec (every map of
        :class:`~boundaryloss.monai.DistanceMapd` with MONAI's metadata tracking on) is
        checked against the requirement: kind, convention, and the channels the loss
        reads. A missing map is an error, never a map computed here from the label: the
        label has lost its ``MetaTensor`` spacing by then, so that map would be in
        voxels, not mm. ``MetaTensor`` inputs are used as plain tensors.

    Args:
        loss: a boundaryloss loss module (or ``CompoundLoss``).
        label_key: key of the label ``(B, 1, *spatial)`` or one-hot ``(B, C, *spatial)``.
        map_keys: batch key -> loss argument name (``"dist_map"`` / ``"rw_map"``);
            default the argument names themselves, as written by
            :class:`~boundaryloss.monai.DistanceMapd`.

    Attributes:
        maps: the maps the loss needs, one per argument.

    Raises:
        ValueError: a ``map_keys`` value that is not a map argument, two keys for one
            argument, or none for an argument the loss takes; terms of a compound loss
            needing different maps under one argument; (when called) a target without
            ``label_key``, without a map the loss needs, or with a map of another kind,
            convention or with fewer channels than the loss reads — the message names
            the loss's requirement.
    """

    def __init__(
        self,
        loss: nn.Module,
        label_key: str = "label",
        map_keys: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.loss = loss
        self.label_key = label_key
        self.map_keys = dict(map_keys) if map_keys is not None else {a: a for a in MAP_ARGUMENTS}
        bad = sorted(set(self.map_keys.values()) - set(MAP_ARGUMENTS))
        if bad:
            raise ValueError(f"map_keys values must be in {MAP_ARGUMENTS}, got {bad}")
        self._batch_keys: dict[str, str] = {}
        for key, argument in self.map_keys.items():
            if argument in self._batch_keys:
                raise ValueError(
                    f"map_keys gives {argument} twice ({self._batch_keys[argument]!r}, {key!r})"
                )
            self._batch_keys[argument] = key
        self.maps: list[MapSpec] = required_maps(loss)
        for need in self.maps:
            if need.argument not in self._batch_keys:
                raise ValueError(
                    f"map_keys {self.map_keys} has no batch key for {need.argument}, which "
                    f"{type(loss).__name__} takes: {need!r}"
                )

    def _map(self, target: Mapping[str, Any], need: MapSpec, num_classes: int) -> Any:
        """The batch's map for ``need``, checked against it."""
        key = self._batch_keys[need.argument]
        hint = (
            "compute it with DistanceMapd.from_loss(loss, num_classes) after the spatial transforms"
        )
        if key not in target:
            raise ValueError(
                f"target has no {key!r} entry, the map {type(self.loss).__name__} takes as "
                f"{need.argument}: {need!r} (keys: {sorted(target)}); {hint}"
            )
        given = map_spec_of(target[key])
        problem = None if given is None else map_mismatch(given, need, num_classes)
        if problem is not None:
            raise ValueError(f"target[{key!r}]: {problem}; {hint}")
        return _plain(target[key])

    def forward(self, pred: torch.Tensor, target: torch.Tensor | Mapping[str, Any]) -> torch.Tensor:
        """Loss of ``pred`` ``(B, C, *spatial)`` against ``target`` (mapping, or the label
        for a loss that takes no map)."""
        if not isinstance(target, Mapping):
            if self.maps:
                raise ValueError(
                    f"target is the label alone, but {type(self.loss).__name__} takes the "
                    f"maps {self.maps}; pass the batch dict with them (DistanceMapd.from_loss)"
                )
            return self.loss(_plain(pred), _plain(target))
        if self.label_key not in target:
            raise ValueError(f"target has no {self.label_key!r} entry (keys: {sorted(target)})")
        maps = {need.argument: self._map(target, need, pred.shape[1]) for need in self.maps}
        return self.loss(_plain(pred), _plain(target[self.label_key]), **maps)


class PrepareBatchWithMaps(PrepareBatch):
    """``prepare_batch`` for MONAI engines: ``(image, {label_key: label, map_key: map...})``.

    Pair it with :class:`MapLoss` as ``loss_function``. The engine's
    ``state.output["label"]`` is then that dict: a training metric needs
    ``output_transform=lambda out: (out["pred"], out["label"]["label"])``.

    Args:
        map_keys: batch keys of the maps to move to the device with the label.
        image_key: key of the network input.
        label_key: key of the label.
    """

    def __init__(
        self,
        map_keys: Sequence[str] = ("dist_map",),
        image_key: str = "image",
        label_key: str = "label",
    ) -> None:
        self.map_keys = tuple(map_keys)
        self.image_key = image_key
        self.label_key = label_key

    def __call__(
        self,
        batchdata: Mapping[str, Any],
        device: str | torch.device | None = None,
        non_blocking: bool = False,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        needed = (self.image_key, self.label_key, *self.map_keys)
        missing = [key for key in needed if key not in batchdata]
        if missing:
            raise ValueError(f"batch has no {missing} entries (keys: {sorted(batchdata)})")

        def move(key: str) -> torch.Tensor:
            return batchdata[key].to(device=device, non_blocking=non_blocking, **kwargs)

        targets = {key: move(key) for key in (self.label_key, *self.map_keys)}
        return move(self.image_key), targets
