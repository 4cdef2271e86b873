"""Which map a loss needs: one small value that the losses declare and everybody else asks.

A loss that consumes a precomputed map says so with a :class:`MapSpec` (see
``SegmentationLoss.map_requirement``). The data pipeline builds its map transforms from
it, the trainer passes the batch entry it names, and a compound loss routes each map to
the terms that asked for it; two specs are equal exactly when they describe the same
array, because the spec normalises itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._validation import check_one_of
from .signed import CONVENTIONS

#: The kinds of map, as :func:`~boundaryloss.maps.compute_map` names them.
MAP_KINDS: tuple[str, ...] = ("signed", "unsigned", "rrw", "ac")
#: The keyword arguments under which the losses take precomputed maps (and the sample keys
#: the data pipeline stores them under).
MAP_ARGUMENTS: tuple[str, ...] = ("dist_map", "rw_map")
#: Kinds whose values depend on the signed-distance ``convention``; the others ignore it.
DISTANCE_KINDS: tuple[str, ...] = ("signed", "unsigned")
#: Default convention of each distance kind (as in the map functions).
DEFAULT_CONVENTIONS = {"signed": "paper", "unsigned": "rw"}
#: Default keyword of each kind: distances go to ``dist_map``, region-wise maps to ``rw_map``.
DEFAULT_ARGUMENTS = {"signed": "dist_map", "unsigned": "dist_map", "rrw": "rw_map", "ac": "rw_map"}


@dataclass(frozen=True)
class MapSpec:
    """A map computed from the target: its kind, convention and the keyword that takes it.

    Attributes:
        kind: ``"signed"`` (:func:`~boundaryloss.maps.signed_distance_map`), ``"unsigned"``
            (its absolute value), ``"rrw"`` (:func:`~boundaryloss.maps.rrw_map`: distances
            normalised per class to ``[-1, 0)`` on the class, ``+1`` elsewhere) or ``"ac"``
            (:func:`~boundaryloss.maps.ac_map`, ``1 - one_hot``).
        convention: the signed-distance convention for ``"signed"`` / ``"unsigned"``
            (``None`` gives the map function's default); always ``None`` for ``"rrw"`` and
            ``"ac"``, which ignore it, so that it cannot make two equal maps look different.
        argument: the loss's keyword for the precomputed map, ``"dist_map"`` or
            ``"rw_map"`` (default: ``dist_map`` for distances, ``rw_map`` otherwise).

    Raises:
        ValueError: unknown kind, convention or argument.

    Example:
        >>> MapSpec("rrw", "rw") == MapSpec("rrw", "paper", "rw_map")
        True
        >>> MapSpec("signed")
        MapSpec(kind='signed', convention='paper', argument='dist_map')
    """

    kind: str
    convention: str | None = None
    argument: str | None = None

    def __post_init__(self) -> None:
        check_one_of(self.kind, MAP_KINDS, "kind")
        if self.kind in DISTANCE_KINDS:
            convention = self.convention or DEFAULT_CONVENTIONS[self.kind]
            check_one_of(convention, CONVENTIONS, "convention")
        else:
            convention = None
        argument = self.argument or DEFAULT_ARGUMENTS[self.kind]
        check_one_of(argument, MAP_ARGUMENTS, "argument")
        object.__setattr__(self, "convention", convention)
        object.__setattr__(self, "argument", argument)

    @property
    def uses_spacing(self) -> bool:
        """Whether the map depends on the pixel spacing (every kind but ``"ac"``)."""
        return self.kind != "ac"

    def compute(
        self,
        label: Any,
        num_classes: int | None,
        spacing: Sequence[float] | float | None = None,
        *,
        batch: bool = False,
        one_hot: bool = False,
    ) -> Any:
        """The map of ``label``; arguments as in :func:`~boundaryloss.maps.compute_map`."""
        from .transform import compute_map  # transform builds on this module

        convention = self.convention or "paper"  # ignored by the kinds without one
        return compute_map(
            self.kind, label, num_classes, spacing, convention, batch=batch, one_hot=one_hot
        )
