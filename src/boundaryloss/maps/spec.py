"""Which map a loss needs: one small value that the losses declare and everybody else asks.

A loss that consumes a precomputed map says so with a :class:`MapSpec` (see
``SegmentationLoss.map_requirement``). The data pipeline builds its map transforms from
it, the trainer passes the batch entry it names, and a compound loss routes each map to
the terms that asked for it; equal specs describe the same array, because the spec
normalises itself. A distance map also names the channels its consumers read
(``include_background``, ``classes``, as the loss selects its classes): the others are
left zeros, which spares the background's distance transform when every consumer leaves
the background out. A zero channel reads like a class without a boundary, so a map must
come from the spec of the loss that reads it (or a spec with more channels). Which
channels a selection names can depend on the number of classes
(``include_background=False`` and ``classes=[1, 2]`` name the same ones for 3 classes
but compare unequal): compare :meth:`MapSpec.channels`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .._validation import check_classes, check_one_of, select_classes
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
    """A map computed from the target: its kind, convention, the keyword that takes it
    and, for distance maps, the channels that are read.

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
        include_background: whether a consumer reads channel 0 (as a loss's
            ``include_background``); with an explicit ``classes`` it is normalised to
            ``0 in classes``.
        classes: the channels consumers read (as a loss's ``classes``), sorted; None:
            every channel (but 0 without ``include_background``). The distance kinds
            compute only these and leave the other channels all zeros; the region-wise
            kinds compute every channel in one pass, so they normalise the selection
            away (``True``, ``None``).

    Raises:
        ValueError: unknown kind, convention or argument; bad ``classes``.

    Example:
        >>> MapSpec("rrw", "rw") == MapSpec("rrw", "paper", "rw_map")
        True
        >>> MapSpec("signed")
        MapSpec(kind='signed', convention='paper', argument='dist_map', include_background=True, classes=None)
        >>> MapSpec("signed", classes=[2, 1]).include_background
        False
    """  # noqa: E501

    kind: str
    convention: str | None = None
    argument: str | None = None
    include_background: bool = True
    classes: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        check_one_of(self.kind, MAP_KINDS, "kind")
        if self.kind in DISTANCE_KINDS:
            convention = self.convention or DEFAULT_CONVENTIONS[self.kind]
            check_one_of(convention, CONVENTIONS, "convention")
            classes = check_classes(self.classes, bool(self.include_background))
            if classes is None:
                include_background = bool(self.include_background)
            else:
                classes = tuple(sorted(classes))
                include_background = 0 in classes
        else:
            convention, include_background, classes = None, True, None
        argument = self.argument or DEFAULT_ARGUMENTS[self.kind]
        check_one_of(argument, MAP_ARGUMENTS, "argument")
        object.__setattr__(self, "convention", convention)
        object.__setattr__(self, "argument", argument)
        object.__setattr__(self, "include_background", include_background)
        object.__setattr__(self, "classes", classes)

    def channels(self, num_classes: int) -> tuple[int, ...]:
        """The channels computed for ``num_classes`` classes (as a loss selects them).

        Raises:
            ValueError: ``classes`` out of range for ``num_classes``.
        """
        return select_classes(num_classes, self.include_background, self.classes)

    def with_classes(self, include_background: bool, classes: Sequence[int] | None) -> MapSpec:
        """The same map with channels selected as a loss with these options selects them
        (``True, None``: every channel)."""
        return replace(self, include_background=include_background, classes=classes)

    def same_map(self, other: MapSpec) -> bool:
        """Whether ``other`` describes the same map (kind, convention, argument), whatever
        channels each names: one computed map can serve both (:meth:`merged`)."""
        return self.with_classes(True, None) == other.with_classes(True, None)

    def merged(self, other: MapSpec) -> MapSpec:
        """The map that serves the consumers of both: the same map, the union of their
        channels.

        Raises:
            ValueError: the specs describe different maps (kind, convention or argument).
        """
        if not self.same_map(other):
            raise ValueError(f"{self} and {other} are different maps")
        if self.classes is None or other.classes is None:
            return self.with_classes(self.include_background or other.include_background, None)
        return self.with_classes(True, sorted(set(self.classes) | set(other.classes)))

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
        """The map of ``label``, only this spec's channels computed (the others zeros);
        arguments as in :func:`~boundaryloss.maps.compute_map`. With ``one_hot`` the
        channels are those of the masks."""
        from .transform import compute_map  # transform builds on this module

        convention = self.convention or "paper"  # ignored by the kinds without one
        return compute_map(
            self.kind,
            label,
            num_classes,
            spacing,
            convention,
            batch=batch,
            one_hot=one_hot,
            include_background=self.include_background,
            classes=self.classes,
        )
