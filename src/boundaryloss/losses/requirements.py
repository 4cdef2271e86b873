"""Which maps a loss needs, and whether a map serves it: asked here, answered by the losses.

Each loss term declares the map it takes precomputed
(:meth:`~boundaryloss.losses.SegmentationLoss.map_requirement`). Everything that feeds
maps to a loss — :class:`~boundaryloss.losses.CompoundLoss`, deep supervision, the
trainer, the MONAI adapter and the nnU-Net trainers — asks :func:`required_maps` which
maps that is, and :func:`map_mismatch` whether a given map serves one of them.

A loss made of terms holds them in a ``terms`` attribute (an ``nn.ModuleDict`` of named
terms, or an ``nn.ModuleList``, named after their classes): its maps are the distinct
maps of its terms, one per keyword, with the union of the channels the terms read.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import replace

from torch import nn

from ..maps import MapSpec
from ._base import map_keywords


def term_requirement(term: nn.Module) -> MapSpec | None:
    """The map one loss term declares with ``map_requirement()``, or None (a regional
    loss, or a module of another library that declares nothing).

    Raises:
        ValueError: the declared keyword is not an argument of the term's ``forward``.
    """
    declare = getattr(term, "map_requirement", None)
    spec = declare() if callable(declare) else None
    if spec is not None and spec.argument not in map_keywords(term.forward):
        raise ValueError(
            f"{type(term).__name__} declares the map {spec.argument} but its forward does "
            "not take it"
        )
    return spec


def term_names(terms: Sequence[nn.Module]) -> list[str]:
    """Class names, with ``_<index>`` appended where a class appears more than once."""
    names = [type(term).__name__ for term in terms]
    return [name if names.count(name) == 1 else f"{name}_{i}" for i, name in enumerate(names)]


def _named_terms(loss: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """The terms of ``loss`` with their names: itself for a term, or its ``terms``."""
    if callable(getattr(loss, "map_requirement", None)):
        yield type(loss).__name__, loss
        return
    terms = getattr(loss, "terms", None)
    if isinstance(terms, nn.ModuleDict):
        yield from terms.items()
    elif isinstance(terms, nn.ModuleList):
        yield from zip(term_names(list(terms)), terms, strict=True)


def _describe(spec: MapSpec) -> str:
    return spec.kind if spec.convention is None else f"{spec.kind}, convention {spec.convention}"


def required_maps(loss: nn.Module, keywords: Collection[str] | None = None) -> list[MapSpec]:
    """The distinct maps ``loss`` takes precomputed, in term order: what a data pipeline
    computes for it.

    Convention:
        A term's map is its ``map_requirement()``; a loss with ``terms`` (a
        :class:`~boundaryloss.losses.CompoundLoss`) needs one map per keyword, which
        terms reading different channels of it share, with the union of their channels
        (:meth:`~boundaryloss.maps.MapSpec.merged`). A module that declares nothing
        (a regional loss, another library's loss) needs none.

    Args:
        loss: a loss term, or a module holding its terms in ``terms``.
        keywords: only the maps taken under these keywords (``dist_map``, ``rw_map``);
            None: all.

    Returns:
        one :class:`~boundaryloss.maps.MapSpec` per keyword the terms take.

    Raises:
        ValueError: two terms take the same keyword but need different maps (kind or
            convention), so one precomputed map cannot serve both; a term declaring a
            keyword its ``forward`` does not take.

    Example:
        >>> from boundaryloss.losses import BoundaryLoss, CompoundLoss, DiceLoss
        >>> required_maps(CompoundLoss([DiceLoss(), BoundaryLoss(include_background=False)]))
        [MapSpec(kind='signed', convention='paper', argument='dist_map', include_background=False, classes=None)]
    """  # noqa: E501
    by_keyword: dict[str, tuple[str, MapSpec]] = {}
    for name, term in _named_terms(loss):
        spec = term_requirement(term)
        if spec is None or (keywords is not None and spec.argument not in keywords):
            continue
        if spec.argument not in by_keyword:
            by_keyword[spec.argument] = (name, spec)
            continue
        first_name, first = by_keyword[spec.argument]
        if not first.same_map(spec):
            raise ValueError(
                f"loss terms {first_name!r} and {name!r} both take {spec.argument} but need "
                f"different maps ({_describe(first)} vs {_describe(spec)})"
            )
        by_keyword[spec.argument] = (first_name, first.merged(spec))
    return [spec for _, spec in by_keyword.values()]


def map_mismatch(given: MapSpec, need: MapSpec, num_classes: int | None = None) -> str | None:
    """Why the map ``given`` does not serve the requirement ``need``, or None if it does.

    A map serves when it is the same kind of map with the same convention and, for
    ``num_classes`` channels, holds every channel ``need`` reads: a map leaves the
    channels it does not name zeros, which a loss reading them would take for a class
    without a boundary. The keyword (``argument``) is not compared: the caller pairs
    maps with requirements by the keyword or batch key it routes them under.

    Args:
        given: the map at hand (what the pipeline computed).
        need: a requirement from :func:`required_maps`.
        num_classes: C, to compare the channels; None: kind and convention only.

    Returns:
        a sentence naming both maps, or None.

    Raises:
        ValueError: ``classes`` out of range for ``num_classes``.
    """
    given = replace(given, argument=need.argument)
    if not given.same_map(need):
        return f"{given!r} is not the map the loss takes as {need.argument} ({need!r})"
    if num_classes is None:
        return None
    missing = sorted(set(need.channels(num_classes)) - set(given.channels(num_classes)))
    if missing:
        return (
            f"the {need.argument} map leaves out channel(s) {missing} of {num_classes}, "
            "which the loss reads (they would be zeros)"
        )
    return None
