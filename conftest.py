"""Doctest collection under ``src``: modules that need an optional extra are skipped
when the extra is not installed (their tests skip the same way)."""

from __future__ import annotations

import importlib.util

#: Folder or module under ``src/boundaryloss`` -> the optional package it imports.
OPTIONAL = {"src/boundaryloss/monai": "monai", "src/boundaryloss/nnunet": "nnunetv2"}

collect_ignore = [
    path for path, package in OPTIONAL.items() if not importlib.util.find_spec(package)
]
