"""On-disk cache of whole-volume maps, keyed by label content and map settings.

Whole-volume maps for 3D patch training cost seconds per large case; they depend
only on the label, the map kind, the class count, the convention and the spacing,
so they are computed once and stored as ``.npy`` files named by a hash of all of
these. A changed label (or spacing, or setting) gets a new key; stale files are
simply never read again.

Files are written to a temporary name and renamed (``os.replace``), so DataLoader
workers computing the same map at once each write a complete file and the last
rename wins; a reader sees a complete file or none. A file that cannot be read, or
whose shape or dtype is wrong, is recomputed and overwritten with a warning.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._files import atomic_path
from .._validation import check_one_of
from ..maps import MAP_KINDS, compute_map

#: Bumped when the file layout or the key changes, so old caches are not misread.
CACHE_VERSION = 1


def map_key(
    label: np.ndarray,
    kind: str,
    num_classes: int,
    spacing: Sequence[float] | None,
    convention: str = "paper",
) -> str:
    """SHA-256 hex digest of the label's bytes, shape and dtype and the map settings.

    Spacing enters by the exact ``repr`` of each float, so 1.0 and 1.0000001 differ;
    ``convention`` is ignored for region-wise kinds (they have none).
    """
    label = np.ascontiguousarray(label)
    digest = hashlib.sha256()
    digest.update(label.tobytes())
    spacing_text = "none" if spacing is None else ",".join(repr(float(s)) for s in spacing)
    settings = (
        f"v{CACHE_VERSION}|shape={label.shape}|dtype={label.dtype.str}|kind={kind}|"
        f"classes={int(num_classes)}|spacing={spacing_text}|"
        f"convention={convention if kind in ('signed', 'unsigned') else '-'}"
    )
    digest.update(settings.encode())
    return digest.hexdigest()


class MapCache:
    """A folder of whole-volume maps, one ``.npy`` per (label, settings) key.

    Args:
        directory: where the files live (created on first write).
        mmap: return read-only memory maps instead of arrays read into memory (only
            the patches cropped from them are then read from disk).

    Example:
        >>> cache = MapCache(tmp_path)  # doctest: +SKIP
        >>> dist = cache.get(label, "signed", 3, spacing=(1.0, 1.0, 3.0))  # doctest: +SKIP
    """

    def __init__(self, directory: str | os.PathLike, mmap: bool = False) -> None:
        self.directory = Path(directory)
        self.mmap = mmap
        self.hits = 0
        self.misses = 0

    def path(
        self,
        label: np.ndarray,
        kind: str,
        num_classes: int,
        spacing: Sequence[float] | None,
        convention: str = "paper",
    ) -> Path:
        """The file a map is (or would be) stored in."""
        key = map_key(label, kind, num_classes, spacing, convention)
        return self.directory / f"{kind}_{key[:40]}.npy"

    def _read(self, path: Path, expected_shape: tuple[int, ...]) -> np.ndarray | None:
        try:
            array = np.load(path, mmap_mode="r" if self.mmap else None, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError) as error:
            warnings.warn(
                f"map cache file {path} is unreadable ({error}); recomputing it",
                RuntimeWarning,
                stacklevel=3,
            )
            return None
        if array.shape != expected_shape or array.dtype != np.float32:
            warnings.warn(
                f"map cache file {path} holds {array.dtype} {array.shape}, expected float32 "
                f"{expected_shape}; recomputing it",
                RuntimeWarning,
                stacklevel=3,
            )
            return None
        return array

    def get(
        self,
        label: np.ndarray,
        kind: str,
        num_classes: int,
        spacing: Sequence[float] | None = None,
        convention: str = "paper",
    ) -> np.ndarray:
        """The map of ``label``: read from the cache, or computed and stored.

        Args:
            label: integer ``(*spatial)`` whole-volume label.
            kind: ``"signed"``, ``"unsigned"``, ``"rrw"`` or ``"ac"``.
            num_classes: C.
            spacing: voxel size per axis (None: unit).
            convention: for signed/unsigned maps.

        Returns:
            float32 ``(C, *spatial)`` (a read-only memory map when ``mmap=True``).

        Raises:
            ValueError: unknown ``kind``, or what the map function raises for bad input.
        """
        check_one_of(kind, MAP_KINDS, "kind")
        label = np.asarray(label)
        path = self.path(label, kind, num_classes, spacing, convention)
        cached = self._read(path, (int(num_classes), *label.shape))
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        array = compute_map(kind, label, num_classes, spacing, convention)
        with atomic_path(path) as tmp:
            np.save(tmp, np.ascontiguousarray(array, dtype=np.float32))
        return array

    def get_for(self, transform, label: np.ndarray, spacing: Sequence[float] | None) -> np.ndarray:
        """:meth:`get` with the settings of a :class:`~boundaryloss.maps.DistanceMapTransform`.

        The transform's own ``spacing``, when set, overrides ``spacing``. Every channel
        is cached (a superset of a transform that computes only some: the same values on
        those), so one file serves consumers reading different channels.
        """
        spacing = transform.spacing if transform.spacing is not None else spacing
        if spacing is not None and np.isscalar(spacing):
            spacing = (float(spacing),) * np.ndim(label)
        return self.get(label, transform.kind, transform.num_classes, spacing, transform.convention)

    def __repr__(self) -> str:
        return f"MapCache({str(self.directory)!r}, mmap={self.mmap})"
