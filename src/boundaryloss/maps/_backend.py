"""The one distance primitive every map is built from, on the fastest backend available.

``distance_to_other_label(labels, spacing)`` returns, for every pixel, the Euclidean
distance (in physical units) from its centre to the centre of the nearest pixel whose
label differs; pixels labelled ``0`` get ``0``. With two labels this is the classic
``distance_transform_edt`` of each side at once; with many labels it gives, for every
class, the distance to the nearest pixel outside that class, in a single pass.

Backends, in order of preference:

- NumPy arrays: the ``edt`` package (multi-label, anisotropic, multi-threaded), else
  ``scipy.ndimage.distance_transform_edt`` (one call per distinct label).
- CuPy arrays (CUDA tensors): cuCIM's ``distance_transform_edt`` (one call per label),
  when cuCIM is installed (``pip install 'boundaryloss[gpu-cu12]'`` or ``[gpu-cu13]``,
  matching the CUDA major version of torch). Without it, maps of CUDA tensors are
  computed on the CPU and copied back to the tensor's device, with a one-time
  :class:`CPUFallbackWarning`.

Image edges are *not* treated as background (``black_border=False``): a region touching
the edge of the image is measured only to pixels that exist.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

try:  # pragma: no cover - exercised implicitly by whichever backend is installed
    import edt as _edt
except ImportError:  # pragma: no cover
    _edt = None

_FORCED_BACKEND: str | None = os.environ.get("BOUNDARYLOSS_EDT_BACKEND") or None
_NUM_THREADS: int | None = None
_WARNED_CPU_FALLBACK = False

#: What to install for GPU maps, named in the fallback warning and the docs.
GPU_EXTRAS = "pip install 'boundaryloss[gpu-cu12]' (CUDA 12) or 'boundaryloss[gpu-cu13]' (CUDA 13)"


class CPUFallbackWarning(RuntimeWarning):
    """Maps of tensors on an accelerator were computed on the CPU (cuCIM is missing)."""


def set_num_threads(threads: int | None) -> None:
    """Set the number of threads the ``edt`` backend may use (``None``: torch's setting).

    Inside DataLoader workers torch already limits itself to one thread, which is
    what the default follows, so workers do not oversubscribe the CPU.
    """
    global _NUM_THREADS
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive int or None, got {threads!r}")
    _NUM_THREADS = threads


#: Below this many voxels a 3D transform runs on one thread (see :func:`_threads`).
THREADED_MIN_VOXELS = 32**3


def _threads(shape: tuple[int, ...]) -> int:
    if _NUM_THREADS is not None:
        return _NUM_THREADS
    if len(shape) < 3:
        return 1  # measured: edt's threads cost more than they save on 2D images
    if int(np.prod(shape)) < THREADED_MIN_VOXELS:
        # A second thread saves little here and stalls on a busy machine (measured:
        # docs/measurements.md). Values do not depend on it.
        return 1
    import torch

    return max(1, torch.get_num_threads())


def set_backend(name: str | None) -> None:
    """Force the CPU backend: ``"edt"``, ``"scipy"``, or ``None`` for automatic choice."""
    global _FORCED_BACKEND
    if name not in (None, "edt", "scipy"):
        raise ValueError(f"backend must be 'edt', 'scipy' or None, got {name!r}")
    if name == "edt" and _edt is None:
        raise ValueError("backend 'edt' requested but the edt package is not installed")
    _FORCED_BACKEND = name


def cpu_backend() -> str:
    """Name of the backend used for NumPy arrays."""
    if _FORCED_BACKEND is not None:
        return _FORCED_BACKEND
    return "edt" if _edt is not None else "scipy"


def array_module(array: Any):
    """``numpy`` or ``cupy``, whichever owns ``array``."""
    if isinstance(array, np.ndarray):
        return np
    import cupy  # only reached for CuPy arrays

    return cupy


def distance_to_other_label(labels: Any, spacing: Sequence[float] | None) -> Any:
    """Distance from each pixel to the nearest pixel with a different label.

    Args:
        labels: unsigned integer array ``(*spatial)`` (2D or 3D), NumPy or CuPy.
            Pixels labelled ``0`` are treated as zeros of the transform (distance 0).
        spacing: physical size of a pixel along each axis (NumPy axis order), or None.

    Returns:
        float32 array ``(*spatial)`` on the same backend as ``labels``. A label that
        fills the whole image has no other label to reach: its pixels get ``inf``.
    """
    spacing = tuple(float(s) for s in spacing) if spacing is not None else (1.0,) * labels.ndim
    if isinstance(labels, np.ndarray):
        if cpu_backend() == "edt":
            labels = np.ascontiguousarray(labels)
            if labels.dtype == np.bool_:
                # Same 0/1 labels; edt is 2-5x slower on bool input (measured, 32x48x32:
                # 3.2-5.6 ms for bool, 1.1-1.4 ms for uint8).
                labels = labels.view(np.uint8)
            out = _edt.edt(
                labels, anisotropy=spacing, black_border=False, parallel=_threads(labels.shape)
            )
            return out.astype(np.float32, copy=False)
        return _per_label(labels, spacing, _scipy_edt, np)
    return _per_label(labels, spacing, _cucim_edt, array_module(labels))


def _per_label(labels, spacing, binary_edt, xp):
    """Multi-label distance from binary transforms, one per distinct non-zero label."""
    out = xp.zeros(labels.shape, dtype=xp.float32)
    values = [int(v) for v in xp.unique(labels).tolist() if v != 0]
    for value in values:
        mask = labels == value
        if bool(mask.all()):
            out[...] = xp.inf
            break
        out[mask] = binary_edt(mask, spacing)[mask]
    return out


def _scipy_edt(mask: np.ndarray, spacing: tuple[float, ...]) -> np.ndarray:
    from scipy.ndimage import distance_transform_edt

    return distance_transform_edt(mask, sampling=spacing).astype(np.float32)


def _cucim_edt(mask, spacing):  # pragma: no cover - needs a GPU with cuCIM
    from cucim.core.operations.morphology import distance_transform_edt

    return distance_transform_edt(mask, sampling=spacing).astype("float32")


@functools.cache
def cucim_available() -> bool:
    """True when cuCIM and CuPy are importable (CUDA tensors are then mapped on the GPU).

    Cached: a failed import is not retried on every map.
    """
    try:
        import cucim.core.operations.morphology  # noqa: F401
        import cupy  # noqa: F401
    except Exception:
        return False
    return True


def warn_cpu_fallback(device: Any) -> None:
    """Warn, once per process, that maps of ``device`` tensors are computed on the CPU.

    Called for a tensor on an accelerator when no GPU distance transform is available;
    the maps still come back on the tensor's device, only slower (a host round trip).
    """
    global _WARNED_CPU_FALLBACK
    if _WARNED_CPU_FALLBACK:
        return
    _WARNED_CPU_FALLBACK = True
    warnings.warn(
        f"boundaryloss: distance maps of {device} tensors are computed on the CPU and "
        f"copied back, because cuCIM is not installed; for GPU maps, {GPU_EXTRAS}. "
        "This warning is shown once.",
        CPUFallbackWarning,
        stacklevel=2,
    )
