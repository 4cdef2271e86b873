"""The lazy, indexable collection of cases that every dataset reader is."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Sequence

from .case import Case


class CaseSource(Sequence[Case]):
    """A dataset's cases, read from disk one at a time when asked for.

    Subclasses find the case ids when built (file names only, so a missing pair or an
    empty folder fails at once), call :meth:`_set_case_ids`, and implement
    :meth:`_load`, which reads one case's files (so a corrupt file or a shape mismatch
    fails when that case is read, with the file names in the message).

    Attributes:
        case_ids: the ids, sorted, in the order ``source[i]`` returns them.
    """

    case_ids: tuple[str, ...] = ()
    _known: frozenset[str] = frozenset()

    def _set_case_ids(self, case_ids: Iterable[str]) -> None:
        self.case_ids = tuple(sorted(case_ids))
        self._known = frozenset(self.case_ids)

    def _load(self, case_id: str) -> Case:
        raise NotImplementedError

    def load(self, case_id: str) -> Case:
        """Read one case by id.

        Raises:
            KeyError: unknown id.
            ValueError: its files are unreadable or inconsistent (the message names them).
        """
        if case_id not in self._known:
            raise KeyError(f"{self!r}: no case {case_id!r}")
        return self._load(case_id)

    def __len__(self) -> int:
        return len(self.case_ids)

    def __getitem__(self, index: int) -> Case:  # type: ignore[override]
        return self._load(self.case_ids[operator.index(index)])

    def __iter__(self) -> Iterator[Case]:
        for case_id in self.case_ids:
            yield self._load(case_id)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} cases)"
