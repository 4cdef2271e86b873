"""The value rules of configuration fields, each with one message.

A configuration dataclass checks its own values in ``__post_init__`` with these
functions, naming each field by its key relative to the dataclass (``"batch_size"``);
:func:`~boundaryloss.config.from_dict` puts the section's path in front
(``"data.batch_size: must be >= 1, got 0"``), so every message names the full key.
"""

from __future__ import annotations

import math
import os
from numbers import Real

from .typed import ConfigError


def at_least(key: str, value: float | None, minimum: float, optional: bool = False) -> None:
    """Refuse ``value < minimum`` (and ``None``, unless ``optional``).

    Args:
        key: the field's key, for the message.
        value: the field's value.
        minimum: the smallest value allowed.
        optional: ``None`` is allowed (the message then says so).

    Raises:
        ConfigError: ``"{key}: must be >= {minimum}, got {value}"``.

    Example:
        >>> at_least("epochs", 0, 1)
        Traceback (most recent call last):
        ...
        boundaryloss.config.typed.ConfigError: epochs: must be >= 1, got 0
    """
    if value is None and optional:
        return
    if value is None or not value >= minimum:
        extra = " (or null)" if optional else ""
        raise ConfigError(f"{key}: must be >= {minimum}{extra}, got {value}")


def positive(key: str, value: float) -> None:
    """Refuse a value that is not a finite number above 0.

    Raises:
        ConfigError: ``"{key}: must be a finite number > 0, got {value}"``.
    """
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{key}: must be a finite number > 0, got {value}")


def non_negative(key: str, value: float) -> None:
    """Refuse a value that is not a finite number of at least 0.

    Raises:
        ConfigError: ``"{key}: must be a finite number >= 0, got {value}"``.
    """
    if not (math.isfinite(value) and value >= 0):
        raise ConfigError(f"{key}: must be a finite number >= 0, got {value}")


def in_interval(key: str, value: float, interval: str) -> None:
    """Refuse a value outside an interval written as in mathematics.

    Args:
        key: the field's key, for the message.
        value: the field's value.
        interval: ``"[0, 1)"``, ``"(0, 1]"``, ``"(0, 1)"`` or ``"[0, 1]"`` (any bounds).

    Raises:
        ConfigError: ``"{key}: must lie in {interval}, got {value}"``.

    Example:
        >>> in_interval("alpha", 0.05, "(0, 1)")
        >>> in_interval("alpha", 1.0, "(0, 1)")
        Traceback (most recent call last):
        ...
        boundaryloss.config.typed.ConfigError: alpha: must lie in (0, 1), got 1.0
    """
    low, high = (float(bound) for bound in interval[1:-1].split(","))
    above = value >= low if interval[0] == "[" else value > low
    below = value <= high if interval[-1] == "]" else value < high
    if not (isinstance(value, Real) and above and below):
        raise ConfigError(f"{key}: must lie in {interval}, got {value}")


def folder_name(key: str, value: str) -> None:
    """Refuse a name that is not one non-empty path component (no ``/``, not ``.`` or
    ``..``): the rule of every name that becomes a folder inside an output folder (a run,
    a comparison), so that nothing is written outside it.

    Raises:
        ConfigError: ``"{key}: {value!r} is not a valid folder name; ..."``.

    Example:
        >>> folder_name("name", "gdl+boundary")
        >>> folder_name("name", "../x")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        boundaryloss.config.typed.ConfigError: name: '../x' is not a valid folder name; ...
    """
    if (
        not isinstance(value, str)
        or value.strip() in ("", ".", "..")
        or "/" in value
        or os.sep in value
        or (os.altsep is not None and os.altsep in value)
        or "\0" in value
    ):
        raise ConfigError(
            f"{key}: {value!r} is not a valid folder name; it must be a single, non-empty "
            "folder name (no '/', not '.' or '..')"
        )


def seed(key: str, value: int) -> None:
    """Refuse a random seed NumPy cannot take (outside ``[0, 2**32)``).

    Raises:
        ConfigError: ``"{key}: must lie in [0, 2**32), got {value}"``.
    """
    if not 0 <= value < 2**32:
        raise ConfigError(f"{key}: must lie in [0, 2**32), got {value}")
