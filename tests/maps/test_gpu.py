"""Maps of CUDA tensors: cuCIM on the GPU, else a CPU round trip with a one-time warning.

The CUDA tests are skipped (with their reason) on machines without CUDA.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from boundaryloss.maps import (
    CPUFallbackWarning,
    _backend,
    compute_map,
    rrw_map,
    signed_distance_map,
)

from .reference import REFERENCES, per_class

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
needs_cucim = pytest.mark.skipif(
    not _backend.cucim_available(), reason="needs cuCIM (boundaryloss[gpu-cu12] / [gpu-cu13])"
)


def test_cpu_fallback_warning_is_shown_once_and_names_the_extras(monkeypatch):
    monkeypatch.setattr(_backend, "_WARNED_CPU_FALLBACK", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            _backend.warn_cpu_fallback(torch.device("cuda", 1))
    assert len(caught) == 1
    assert issubclass(caught[0].category, CPUFallbackWarning)
    message = str(caught[0].message)
    assert "cuda:1" in message and "gpu-cu12" in message and "gpu-cu13" in message


def test_cpu_tensors_never_warn(monkeypatch):
    monkeypatch.setattr(_backend, "_WARNED_CPU_FALLBACK", False)
    label = torch.zeros(6, 6, dtype=torch.long)
    label[2:4, 2:5] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", CPUFallbackWarning)
        signed_distance_map(label, 2)
    assert _backend._WARNED_CPU_FALLBACK is False


class _OnFakeCuda(torch.Tensor):
    """A CPU tensor that reports a CUDA device (the fallback path without a GPU)."""

    @property
    def is_cuda(self) -> bool:
        return True

    @property
    def device(self) -> torch.device:
        return torch.device("cuda", 0)


def test_mocked_cuda_label_without_cucim_is_mapped_on_the_cpu_moved_back_and_warned_once(
    monkeypatch,
):
    monkeypatch.setattr("boundaryloss.maps._inputs.cucim_available", lambda: False)
    monkeypatch.setattr(_backend, "_WARNED_CPU_FALLBACK", False)
    moves = []
    original_to = torch.Tensor.to

    def to(self, *args, **kwargs):  # record moves to the fake device instead of doing them
        target = args[0] if args else kwargs.get("device")
        if isinstance(target, torch.device) and target.type == "cuda":
            moves.append(target)
            return self
        return original_to(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", to)
    label = torch.zeros(9, 8, dtype=torch.long)
    label[2:6, 3:7] = 1
    on_device = label.as_subclass(_OnFakeCuda)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = signed_distance_map(on_device, 2, (1.0, 2.0))
        rrw_map(on_device, 2)
    assert moves == [torch.device("cuda", 0)] * 2  # each result sent back to the device
    assert [w.category for w in caught] == [CPUFallbackWarning]
    expected = per_class(REFERENCES["paper"], label.numpy(), 2, (1.0, 2.0))
    np.testing.assert_allclose(first.as_subclass(torch.Tensor).numpy(), expected, atol=1e-6)


def _label(shape, seed):
    rng = np.random.default_rng(seed)
    grid = np.indices(shape)
    radius = sum(((g - s / 2) / (s / 3)) ** 2 for g, s in zip(grid, shape, strict=True))
    label = np.zeros(shape, dtype=np.int64)
    label[radius < 1] = 1
    label[radius < 0.35] = 2
    label[rng.random(shape) < 0.01] = 2
    return label


SHAPES = {"2d": ((40, 33), (0.7, 1.3)), "3d": ((24, 20, 14), (0.5, 0.5, 2.0))}
KINDS = [("signed", c) for c in ("paper", "official", "rw")] + [
    ("unsigned", "rw"),
    ("rrw", "paper"),
    ("ac", "paper"),
]


@needs_cuda
@pytest.mark.parametrize("dims", sorted(SHAPES))
@pytest.mark.parametrize(("kind", "convention"), KINDS)
@pytest.mark.parametrize("one_hot", [False, True])
def test_gpu_maps_equal_cpu_maps(dims, kind, convention, one_hot):
    shape, spacing = SHAPES[dims]
    label = torch.from_numpy(_label(shape, seed=len(shape)))
    if one_hot:
        label = torch.nn.functional.one_hot(label, 3).movedim(-1, 0)
    options = {"batch": False, "one_hot": one_hot}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CPUFallbackWarning)
        on_gpu = compute_map(kind, label.cuda(), 3, spacing, convention, **options)
    on_cpu = compute_map(kind, label, 3, spacing, convention, **options)
    assert on_gpu.device.type == "cuda" and on_gpu.dtype == torch.float32
    torch.testing.assert_close(on_gpu.cpu(), on_cpu, rtol=1e-5, atol=1e-4)


@needs_cuda
def test_gpu_maps_match_scipy_with_spacing_in_a_batch():
    labels = np.stack([_label((24, 20, 14), seed) for seed in (0, 1)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CPUFallbackWarning)
        out = signed_distance_map(torch.from_numpy(labels).cuda(), 3, (0.5, 0.5, 2.0), batch=True)
    expected = np.stack([per_class(REFERENCES["paper"], lab, 3, (0.5, 0.5, 2.0)) for lab in labels])
    np.testing.assert_allclose(out.cpu().numpy(), expected, rtol=1e-5, atol=1e-4)


@needs_cuda
@needs_cucim
def test_cuda_tensors_go_through_cucim(monkeypatch):
    calls = []
    original = _backend._cucim_edt

    def counting(mask, spacing):
        calls.append(type(mask).__module__)
        return original(mask, spacing)

    monkeypatch.setattr(_backend, "_cucim_edt", counting)
    label = torch.from_numpy(_label((30, 30), seed=3)).cuda()
    with warnings.catch_warnings():
        warnings.simplefilter("error", CPUFallbackWarning)
        out = rrw_map(label, 3, (1.0, 2.0))
    assert calls and all(module.startswith("cupy") for module in calls)
    assert out.device == label.device


@needs_cuda
def test_without_cucim_cuda_maps_come_back_on_the_device_with_one_warning(monkeypatch):
    monkeypatch.setattr(_backend, "cucim_available", lambda: False)
    monkeypatch.setattr("boundaryloss.maps._inputs.cucim_available", lambda: False)
    monkeypatch.setattr(_backend, "_WARNED_CPU_FALLBACK", False)
    label = torch.from_numpy(_label((30, 30), seed=4)).cuda()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = signed_distance_map(label, 3)
        signed_distance_map(label, 3)
    assert first.device == label.device
    assert [w.category for w in caught] == [CPUFallbackWarning]
    torch.testing.assert_close(first.cpu(), signed_distance_map(label.cpu(), 3))
