"""The package's public surface and its import weight."""

from __future__ import annotations

import subprocess
import sys

import boundaryloss


def test_public_api_is_importable():
    for name in boundaryloss.__all__:
        assert getattr(boundaryloss, name) is not None, name


def test_extension_points_are_public():
    """What a user extends or asks: the map spec and maps, the loss base class, deep
    supervision, the map requirements and the registries."""
    from boundaryloss import losses, maps, registry

    public = {
        "MapSpec": maps.MapSpec,
        "compute_map": maps.compute_map,
        "SegmentationLoss": losses.SegmentationLoss,
        "DeepSupervisionLoss": losses.DeepSupervisionLoss,
        "required_maps": losses.required_maps,
        "map_mismatch": losses.map_mismatch,
        "register_loss": registry.register_loss,
        "register_schedule": registry.register_schedule,
    }
    for name, value in public.items():
        assert name in boundaryloss.__all__, name
        assert getattr(boundaryloss, name) is value, name


def test_core_imports_without_training_or_data_stack():
    code = (
        "import sys, boundaryloss\n"
        "heavy = ['lightning', 'matplotlib', 'nibabel', 'PIL', 'monai', 'boundaryloss.data']\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
