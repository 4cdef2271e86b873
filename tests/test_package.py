"""The package's public surface and its import weight."""

from __future__ import annotations

import subprocess
import sys

import boundaryloss


def test_public_api_is_importable():
    for name in boundaryloss.__all__:
        assert getattr(boundaryloss, name) is not None, name


def test_core_imports_without_training_or_data_stack():
    code = (
        "import sys, boundaryloss\n"
        "heavy = ['lightning', 'matplotlib', 'nibabel', 'PIL', 'monai', 'boundaryloss.data']\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
