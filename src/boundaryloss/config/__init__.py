"""Typed configuration: dataclasses loaded from YAML and ``key=value`` overrides."""

from .typed import (
    ConfigError,
    apply_overrides,
    convert,
    from_dict,
    path_field,
    read_yaml,
    to_dict,
)

__all__ = [
    "ConfigError",
    "apply_overrides",
    "convert",
    "from_dict",
    "path_field",
    "read_yaml",
    "to_dict",
]
