"""Deterministic case-level train/validation splits and k folds, saved as JSON.

Splits are made on case ids (or on groups of them, e.g. the two eyes of one child),
never on slices or patches: build slice and patch datasets from the cases of each
side (:func:`select_cases`) and no case can land on both sides.

The JSON file is nnU-Net's ``splits_final.json`` layout: a list of
``{"train": [...], "val": [...]}``, one entry per fold.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._files import write_text_atomically
from .case import Case

GroupKey = Callable[[str], str] | str | None


@dataclass(frozen=True)
class Split:
    """One train/validation split of case ids (each list sorted)."""

    train: tuple[str, ...]
    val: tuple[str, ...]

    def __post_init__(self) -> None:
        both = set(self.train) & set(self.val)
        if both:
            raise ValueError(f"cases on both sides of a split: {sorted(both)[:10]}")


def case_ids_of(cases: Sequence[Case]) -> list[str]:
    """The case ids of a case source (its ``case_ids`` attribute, else each case's id)."""
    ids = getattr(cases, "case_ids", None)
    if ids is None:
        ids = [case.case_id for case in cases]
    return [str(i) for i in ids]


def group_of(case_id: str, group: GroupKey) -> str:
    """The group a case belongs to.

    Args:
        case_id: the case's id.
        group: None (every case its own group), a callable ``case_id -> key``, or a
            regular expression matched at the start of the id whose first capture group
            (or whole match, without groups) is the key. For CHASE_DB1, ``r"(.*\\d)[LR]$"``
            puts ``Image_01L`` and ``Image_01R`` (one child) in group ``Image_01``.

    Raises:
        ValueError: the regular expression does not match ``case_id``.
    """
    if group is None:
        return case_id
    if callable(group):
        return str(group(case_id))
    match = re.match(group, case_id)
    if match is None:
        raise ValueError(f"group pattern {group!r} does not match case id {case_id!r}")
    return match.group(1) if match.re.groups else match.group(0)


def _shuffled_groups(
    case_ids: Sequence[str], group: GroupKey, seed: int
) -> tuple[list[str], dict[str, list[str]]]:
    ids = [str(i) for i in case_ids]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        repeated = sorted({i for i in ids if i in seen or seen.add(i)})
        raise ValueError(f"case_ids must be unique, repeated: {repeated[:10]}")
    members: dict[str, list[str]] = {}
    for case_id in sorted(ids):
        members.setdefault(group_of(case_id, group), []).append(case_id)
    keys = sorted(members)
    # Sorting first makes the result independent of the input order.
    order = np.random.default_rng(seed).permutation(len(keys))
    return [keys[i] for i in order], members


def _split_from(val_groups: Sequence[str], members: dict[str, list[str]]) -> Split:
    val = {case_id for key in val_groups for case_id in members[key]}
    everyone = {case_id for ids in members.values() for case_id in ids}
    return Split(train=tuple(sorted(everyone - val)), val=tuple(sorted(val)))


def train_val_split(
    case_ids: Sequence[str],
    val_fraction: float | None = None,
    val_count: int | None = None,
    seed: int = 0,
    group: GroupKey = None,
) -> Split:
    """Split cases into train and validation, deterministically.

    Convention:
        Groups (cases by default) are sorted, shuffled with ``seed`` and the first
        ``val_count`` groups (or ``round(val_fraction * n_groups)``, at least 1 and at
        most ``n_groups - 1``) go to validation. The same ids and seed give the same
        split in any input order, on any machine. Counts are in groups, not cases.

    Args:
        case_ids: unique case ids.
        val_fraction: fraction of groups for validation, in ``(0, 1)``.
        val_count: number of groups for validation, in ``[1, n_groups - 1]``.
            Exactly one of ``val_fraction`` and ``val_count`` is given.
        seed: shuffling seed.
        group: see :func:`group_of`.

    Returns:
        A :class:`Split`.

    Raises:
        ValueError: both or neither of ``val_fraction``/``val_count``; fraction outside
            ``(0, 1)``; count out of range; fewer than 2 groups; repeated ids.
    """
    if (val_fraction is None) == (val_count is None):
        raise ValueError("give exactly one of val_fraction and val_count")
    keys, members = _shuffled_groups(case_ids, group, seed)
    if len(keys) < 2:
        raise ValueError(f"case_ids must hold at least 2 groups to split, got {len(keys)}")
    if val_fraction is not None:
        if not 0.0 < val_fraction < 1.0:
            raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction!r}")
        val_count = min(max(round(val_fraction * len(keys)), 1), len(keys) - 1)
    elif not 1 <= val_count <= len(keys) - 1:
        raise ValueError(
            f"val_count must lie in [1, {len(keys) - 1}] for {len(keys)} groups, got {val_count}"
        )
    return _split_from(keys[:val_count], members)


def kfold_splits(
    case_ids: Sequence[str], k: int = 5, seed: int = 0, group: GroupKey = None
) -> list[Split]:
    """``k`` folds: every case is in exactly one fold's validation set.

    Groups are shuffled as in :func:`train_val_split` and dealt into ``k`` folds of
    sizes differing by at most one group (``np.array_split``).

    Raises:
        ValueError: ``k`` below 2 or above the number of groups; repeated ids.
    """
    keys, members = _shuffled_groups(case_ids, group, seed)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 2 <= k <= len(keys):
        raise ValueError(f"k must be an int in [2, {len(keys)}] (the number of groups), got {k!r}")
    return [_split_from(list(fold), members) for fold in np.array_split(np.array(keys), k)]


def save_splits(path: str | os.PathLike, splits: Split | Sequence[Split]) -> None:
    """Write splits as nnU-Net-style JSON (a list of ``{"train", "val"}``), atomically."""
    splits = [splits] if isinstance(splits, Split) else list(splits)
    data = [{"train": list(s.train), "val": list(s.val)} for s in splits]
    write_text_atomically(path, json.dumps(data, indent=2) + "\n")


def load_splits(path: str | os.PathLike) -> list[Split]:
    """Read splits written by :func:`save_splits` (or nnU-Net's ``splits_final.json``).

    Raises:
        ValueError: missing or malformed file, or a case on both sides (names the file).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise ValueError(f"{path}: splits file not found") from error
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error
    if isinstance(data, dict):
        data = [data]
    splits = []
    for i, entry in enumerate(data if isinstance(data, list) else [None]):
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("train"), list)
            and isinstance(entry.get("val"), list)
        ):
            raise ValueError(
                f"{path}: entry {i} must be an object with 'train' and 'val' lists of case ids"
            )
        try:
            splits.append(
                Split(tuple(str(c) for c in entry["train"]), tuple(str(c) for c in entry["val"]))
            )
        except ValueError as error:
            raise ValueError(f"{path}: entry {i}: {error}") from error
    return splits


class CaseSubset(Sequence):
    """The cases of a source whose ids are listed, in the listed order (lazy view).

    Args:
        cases: a case source (sequence of :class:`Case`, ideally with ``case_ids``).
        case_ids: the ids to keep.

    Raises:
        ValueError: an id is not in the source.
    """

    def __init__(self, cases: Sequence[Case], case_ids: Sequence[str]) -> None:
        position = {case_id: i for i, case_id in enumerate(case_ids_of(cases))}
        unknown = [c for c in case_ids if c not in position]
        if unknown:
            raise ValueError(f"case_ids not in the case source: {unknown[:10]}")
        self.cases = cases
        self.case_ids = [str(c) for c in case_ids]
        self._positions = [position[c] for c in self.case_ids]

    def __len__(self) -> int:
        return len(self._positions)

    def __getitem__(self, index: int) -> Case:  # type: ignore[override]
        return self.cases[self._positions[index]]


def select_cases(cases: Sequence[Case], case_ids: Sequence[str]) -> CaseSubset:
    """The cases of ``cases`` named in ``case_ids`` (e.g. ``split.train``), lazily."""
    return CaseSubset(cases, case_ids)
