"""The one rule for options that do nothing in the mode a command runs in: refused.

An option the command would ignore is a silent wrong answer: ``--nsd-tolerance 2``
typed without ``nsd`` in ``--metrics`` scores nothing at 2 mm, and the user believes it
did. Every sub-command states which of its options need which mode through
:func:`refuse_unused`, so the rule and its message are written once.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def refuse_unused(
    args: argparse.Namespace, options: Sequence[str], *, used: bool, needs: str
) -> None:
    """Refuse the first of ``options`` given on the command line when ``used`` is False.

    An option counts as given when its value is neither ``None`` nor ``False`` (so such
    options default to ``None``, or ``False`` for flags).

    Args:
        args: the parsed arguments.
        options: option strings, e.g. ``("--connectivity", "--lesion-f1")``; the value
            is read from the attribute argparse derives (``args.lesion_f1``).
        used: whether the mode the command runs in uses these options.
        needs: what they need, completing "only used ...", e.g. ``"with --lesion"``.

    Raises:
        ValueError: ``"--OPTION: only used NEEDS"``.
    """
    if used:
        return
    for option in options:
        if getattr(args, option.lstrip("-").replace("-", "_")) not in (None, False):
            raise ValueError(f"{option}: only used {needs}")
