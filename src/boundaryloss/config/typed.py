"""Build typed dataclasses from plain data (YAML), with errors that name the key.

Supports fields typed as ``int``, ``float``, ``str``, ``bool``, ``Literal[...]``,
``X | None``, ``list[X]``, ``tuple[X, ...]``, ``tuple[X, Y]``, ``dict[str, X]``, ``Any``
and nested dataclasses. Nothing is ever ``eval``'d. A field declared with
:func:`path_field` holds a file or folder path: a leading ``~`` in its value is expanded
to the home folder, as a shell would (``output_dir=~/runs``).

A dataclass checks its own values in ``__post_init__``, raising :class:`ConfigError`
that names the field by its key relative to the dataclass (the rules of
:mod:`boundaryloss.config.rules`); :func:`from_dict` puts the section's path in front,
so the message names the full key (``data.batch_size: must be >= 1, got 0``).
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration value or key is wrong; the message names its dotted path."""


#: Field metadata of a path (see :func:`path_field`).
_PATH = "path"


def path_field(default: str | None) -> Any:
    """A dataclass field holding a path: :func:`from_dict` expands a leading ``~``."""
    return dataclasses.field(default=default, metadata={_PATH: True})


class DuplicateKeyError(yaml.YAMLError):
    """A YAML mapping gives the same key twice (YAML would silently keep the last)."""

    def __init__(self, key: Any, line: int, first_line: int) -> None:
        super().__init__(f"line {line}: duplicate key {key!r} (first at line {first_line})")
        self.key, self.line, self.first_line = key, line, first_line


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping.

    PyYAML keeps the last of two equal keys, so a second ``data:`` section silently
    replaced the first. Merge keys (``<<``) may still be overridden by explicit keys.
    """

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    if key in seen:
                        raise DuplicateKeyError(key, line, seen[key])
                    seen[key] = line
                except TypeError:  # an unhashable key: SafeLoader refuses it below
                    pass
        return super().construct_mapping(node, deep=deep)


def load_yaml_text(text: str) -> Any:
    """Parse YAML text safely (no code, no Python objects), refusing duplicate keys.

    Raises:
        DuplicateKeyError: a mapping gives a key twice (names the key and both lines).
        yaml.YAMLError: the text is not valid YAML.
    """
    return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: no Python objects


def from_dict(cls: type[T], data: Any, path: str = "") -> T:
    """Construct dataclass ``cls`` from a mapping, checking keys and types recursively.

    Args:
        cls: the dataclass.
        data: its plain data (a mapping, e.g. from YAML).
        path: the dotted key of ``data`` in the whole configuration, for messages.

    Returns:
        The dataclass, its nested dataclasses built the same way.

    Raises:
        ConfigError: an unknown or missing key, a wrong type, or a value the dataclass
            refuses (its ``__post_init__``), the message naming the full key.

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass
        ... class Optim:
        ...     lr: float = 1e-3
        >>> from_dict(Optim, {"lr": 1})
        Optim(lr=1.0)
        >>> from_dict(Optim, {"lr": "fast"}, "optim")
        Traceback (most recent call last):
        ...
        boundaryloss.config.typed.ConfigError: optim.lr: expected a number, got 'fast'
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'config'}: expected a mapping, got {type(data).__name__}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"{path}." if path else ""
        raise ConfigError(
            f"unknown key {where}{unknown[0]!s}; valid keys{' of ' + path if path else ''}: "
            f"{', '.join(sorted(fields))}"
        )
    values = {}
    for name, value in data.items():
        values[name] = convert(hints[name], value, f"{path}.{name}" if path else name)
        if fields[name].metadata.get(_PATH) and isinstance(values[name], str):
            values[name] = os.path.expanduser(values[name])
    missing = [
        name
        for name, f in fields.items()
        if name not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"missing required key {(path + '.') if path else ''}{missing[0]}")
    try:
        return cls(**values)
    except ConfigError as error:  # a rule of the dataclass, naming its key relative to it
        raise ConfigError(f"{path}.{error}" if path else str(error)) from None
    except ValueError as error:
        raise ConfigError(f"{path or 'config'}: {error}") from error


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def convert(tp: Any, value: Any, path: str) -> Any:
    """Check/convert one value against a type annotation."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return convert(option, value, path)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(
            errors[0]
            if len(errors) == 1
            else f"{path}: {value!r} matches none of {' | '.join(_type_name(o) for o in options)}"
        )
    if origin is Literal:
        choices = get_args(tp)
        if value not in choices:
            raise ConfigError(f"{path}: expected one of {list(choices)}, got {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, path)
    if origin in (list, typing.List):  # noqa: UP006
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        (item,) = get_args(tp) or (Any,)
        return [convert(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(convert(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(f"{path}: expected {len(args)} values, got {list(value)!r}")
        return tuple(
            convert(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {value!r}")
        _, item = get_args(tp) or (str, Any)
        return {str(k): convert(item, v, f"{path}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{path}: unsupported type {tp!r}")  # pragma: no cover


def to_dict(obj: Any) -> Any:
    """Plain data (for YAML/JSON) from a dataclass tree."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def read_yaml(path: str | os.PathLike, what: str = "config file") -> dict:
    """A YAML file whose top level is a mapping.

    Raises:
        ConfigError: the file is missing, is not valid YAML, gives a key twice in one
            mapping (naming the key and its lines: YAML would silently keep the last),
            or is not a mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} not found: {path}")
    try:
        data = load_yaml_text(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text (UTF-8) file") from None
    except DuplicateKeyError as error:
        raise ConfigError(
            f"{path}: {error}; the first would be silently ignored, remove one"
        ) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: invalid YAML ({error})") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``a.b.c=value`` overrides (values parsed as YAML) to nested plain data."""
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {override!r} must look like key.path=value")
        try:
            value = load_yaml_text(raw) if raw != "" else ""
        except yaml.YAMLError as error:
            raise ConfigError(f"override {override!r}: cannot parse value ({error})") from error
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            if isinstance(node, list):
                node = node[_list_index(part, node, key)]
                continue
            node = node.setdefault(part, {})
            if not isinstance(node, (dict, list)):
                raise ConfigError(f"override {override!r}: {part} is not a section")
        last = parts[-1]
        if isinstance(node, list):
            node[_list_index(last, node, key)] = value
        else:
            node[last] = value
    return data


def _list_index(part: str, node: list, key: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise ConfigError(f"override {key!r}: {part!r} is not an index of a list of {len(node)}")
    return int(part)
