"""The package's public surface and its import weight."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


# The training stack (the ``train`` extra), blocked as if not installed: finding any of
# these modules raises ImportError, as an import of a missing module does.
BLOCK_TRAINING_STACK = """
import importlib.abc, sys
BLOCKED = {"lightning", "lightning_fabric", "matplotlib", "nibabel", "PIL", "tqdm", "yaml"}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
"""


def _run_blocked(code: str) -> subprocess.CompletedProcess:
    src = str(Path(boundaryloss.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.run(
        [sys.executable, "-c", BLOCK_TRAINING_STACK + code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_core_works_without_the_training_stack():
    # `pip install boundaryloss` without the train extra: every loss, map and metric module
    # imports, and a loss and a metric compute.
    result = _run_blocked(
        """
import importlib, pkgutil
import torch
import boundaryloss
from boundaryloss import losses, maps, metrics, schedules, stats
for package in (losses, maps, metrics):
    for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
label = torch.zeros(1, 16, 16, dtype=torch.long)
label[:, 4:9, 5:11] = 1
logits = torch.randn(1, 2, 16, 16, requires_grad=True)
dist = boundaryloss.signed_distance_map(label, num_classes=2, batch=True)
loss = boundaryloss.BoundaryLoss()(logits, label, dist) + boundaryloss.DiceLoss()(logits, label)
loss.backward()
assert torch.isfinite(loss) and logits.grad is not None
pred = torch.zeros(16, 16, dtype=torch.long)
pred[4:9, 6:12] = 1  # the reference's 5 x 6 box moved one pixel: 25 pixels overlap
assert boundaryloss.dice(pred, label[0]) == {1: 50 / 60}
assert boundaryloss.hausdorff_distance(pred, label[0]) == {1: 1.0}
print(sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED))
"""
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_cli_without_the_training_stack_names_the_extra_in_one_line():
    result = _run_blocked(
        """
import contextlib, io, json
from boundaryloss.cli import main
argvs = [
    ["train"],
    ["demo"],
    ["compare", "--config", "x.yaml"],
    ["prepare", "drive", "in", "out"],
    ["evaluate", "runs/x"],
    ["evaluate-folder", "pred", "ref"],
    ["predict", "model.pt", "in", "out"],
]
for argv in argvs:
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = main(argv)
    print(json.dumps([code, stderr.getvalue()]))
"""
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 7
    for line in lines:
        code, message = json.loads(line)
        assert code == 1
        assert message.count("\n") == 1 and "Traceback" not in message, message
        assert 'pip install "boundaryloss[train]"' in message
        assert "lightning-fabric" in message and "pyyaml" in message
