"""Feed the maps of a MONAI batch dict to a boundaryloss loss.

MONAI's ``SupervisedTrainer`` calls ``loss_function(pred, targets)`` with whatever its
``prepare_batch`` returned as targets. :class:`PrepareBatchWithMaps` returns the label
*and* the batch's maps as a dict, and :class:`MapLoss` unpacks that dict into the loss's
``dist_map=`` / ``rw_map=`` arguments. In a plain loop, call ``MapLoss`` with the batch
dict itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from monai.engines.utils import PrepareBatch
from torch import nn

from ..losses.compound import CompoundLoss, map_requirement_of
from ..maps import MAP_ARGUMENTS


def _plain(tensor: Any) -> Any:
    """A MONAI ``MetaTensor`` as a plain tensor (no metadata tracking in the loss)."""
    return tensor.as_tensor() if hasattr(tensor, "as_tensor") else tensor


class MapLoss(nn.Module):
    """Call ``loss(pred, label, dist_map=..., rw_map=...)`` with the maps of a batch dict.

    Convention:
        ``target`` is either a tensor (the label; the loss then computes its maps from
        it) or a mapping holding the label under ``label_key`` and precomputed maps under
        the keys of ``map_keys``. Only the maps the loss takes are passed: the keyword of
        its ``map_requirement()`` for a single loss, every map argument for a
        :class:`~boundaryloss.losses.CompoundLoss` (which routes each map to its terms).
        ``MetaTensor`` inputs are used as plain tensors.

    Args:
        loss: a boundaryloss loss module (or ``CompoundLoss``).
        label_key: key of the label ``(B, 1, *spatial)`` or one-hot ``(B, C, *spatial)``.
        map_keys: batch key -> loss argument name (``"dist_map"`` / ``"rw_map"``);
            default the argument names themselves, as written by
            :class:`~boundaryloss.monai.DistanceMapd`.

    Raises:
        ValueError: a ``map_keys`` value that is not a map argument; a target mapping
            without ``label_key``.
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
        if isinstance(loss, CompoundLoss):
            self.accepted: tuple[str, ...] = MAP_ARGUMENTS
        else:
            spec = map_requirement_of(loss)
            self.accepted = (spec.argument,) if spec is not None else ()

    def forward(self, pred: torch.Tensor, target: torch.Tensor | Mapping[str, Any]) -> torch.Tensor:
        """Loss of ``pred`` ``(B, C, *spatial)`` against ``target`` (tensor or mapping)."""
        if not isinstance(target, Mapping):
            return self.loss(_plain(pred), _plain(target))
        if self.label_key not in target:
            raise ValueError(f"target has no {self.label_key!r} entry (keys: {sorted(target)})")
        maps = {
            argument: _plain(target[key])
            for key, argument in self.map_keys.items()
            if key in target and argument in self.accepted
        }
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
