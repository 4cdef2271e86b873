"""Reading and writing image files: NIfTI through nibabel, 2D formats through Pillow.

Every reader raises ``ValueError`` naming the file when it cannot be read; every writer
writes to a temporary file in the destination folder and renames it, so a file is
either complete or absent, never half-written.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
from pathlib import Path

import numpy as np

from .._files import atomic_path, write_text_atomically  # noqa: F401 (also re-exported)
from .._units import MILLIMETRES, PIXELS

#: Suffixes read as 2D images through Pillow.
IMAGE_2D_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".gif", ".ppm", ".pgm", ".bmp")
#: 2D formats that store a label map exactly (JPEG's compression changes labels at edges).
LOSSLESS_2D_SUFFIXES = tuple(s for s in IMAGE_2D_SUFFIXES if s not in (".jpg", ".jpeg"))
#: Suffixes read as volumes through nibabel.
NIFTI_SUFFIXES = (".nii.gz", ".nii")


def has_suffix(path: str | os.PathLike, suffixes: tuple[str, ...]) -> bool:
    """Whether the file name of ``path`` ends with one of ``suffixes`` (any case)."""
    name = Path(path).name.lower()
    return any(name.endswith(suffix) for suffix in suffixes)


def spacing_unit_of(path: str | os.PathLike) -> str:
    """The unit of the spacing of an image file, so of every distance measured on it.

    Convention:
        A NIfTI file's header holds its physical voxel size: ``"mm"``. Every other
        image file (PNG, TIFF, GIF, JPEG, PPM, ..., compressed or not) holds none, so
        its spacing is one per pixel: ``"px"``. The one place this rule is written:
        the dataset readers, ``predict`` and ``evaluate-folder`` all ask here.

    Args:
        path: the image file (only its name is read).

    Returns:
        :data:`~boundaryloss.data.case.MILLIMETRES` or
        :data:`~boundaryloss.data.case.PIXELS`.

    Example:
        >>> spacing_unit_of("hippocampus_001.nii.gz"), spacing_unit_of("21_training.tif")
        ('mm', 'px')
    """
    return MILLIMETRES if has_suffix(path, NIFTI_SUFFIXES) else PIXELS


# --- NIfTI --------------------------------------------------------------------------------


def load_nifti(path: str | os.PathLike):
    """Open a NIfTI file with nibabel, its voxels left on disk (shape and affine come from
    the header).

    Returns:
        The ``nibabel`` image.

    Raises:
        ValueError: the file is missing, unreadable or corrupt (the message names it).
    """
    import nibabel as nib

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: file not found")
    try:
        return nib.load(str(path))
    except Exception as error:  # nibabel raises many types for corrupt files
        raise ValueError(f"{path}: cannot read NIfTI file ({error})") from error


def read_nifti(path: str | os.PathLike) -> tuple[np.ndarray, tuple[float, ...], np.ndarray]:
    """Read a NIfTI file.

    Returns:
        ``(data, spacing, affine)``: the data array as stored (3D or 4D, in the file's
        voxel axis order, native dtype), the voxel size of the three spatial axes in mm,
        and the 4x4 voxel-to-world affine.

    Raises:
        ValueError: the file is missing, unreadable or corrupt (the message names it).
    """
    image = load_nifti(path)
    data = read_nifti_voxels(image, path)
    zooms = nifti_spacing(image, path, min(data.ndim, 3))
    return data, zooms, np.asarray(image.affine, dtype=np.float64)


def nifti_spacing(image, path: str | os.PathLike, ndim: int) -> tuple[float, ...]:
    """The voxel size of the first ``ndim`` axes of a NIfTI image opened with
    :func:`load_nifti` (the header's ``pixdim``, nibabel's ``get_zooms()``), in mm.

    Raises:
        ValueError: a size that is NaN, infinite, zero or negative (naming ``path`` and
            the sizes): every distance, map and volume measured on the file would be
            NaN or meaningless.
    """
    spacing = tuple(float(z) for z in image.header.get_zooms()[:ndim])
    if not all(np.isfinite(s) and s > 0 for s in spacing):
        raise ValueError(
            f"{path}: the header's voxel size (pixdim) {spacing} is not a positive finite "
            "number on every axis; fix the file's header"
        )
    return spacing


def read_nifti_voxels(image, path: str | os.PathLike) -> np.ndarray:
    """The voxels of a NIfTI image opened with :func:`load_nifti`, as stored.

    Raises:
        ValueError: the data cannot be read, or is not 2D, 3D or 4D (naming ``path``).
    """
    try:
        data = np.asanyarray(image.dataobj)
    except Exception as error:  # truncated gzip, short file
        raise ValueError(f"{path}: cannot read NIfTI file ({error})") from error
    if data.ndim not in (2, 3, 4):
        raise ValueError(f"{path}: expected a 2D, 3D or 4D image, got shape {data.shape}")
    return data


def nifti_channels(data: np.ndarray, path: str | os.PathLike) -> np.ndarray:
    """The channel-first image ``(C, *spatial)`` of a NIfTI file's voxels.

    Convention:
        ``(X, Y)`` and ``(X, Y, 1)`` are 2D images (nnU-Net's 2D datasets store them so),
        ``(X, Y, Z)`` a volume, ``(X, Y, Z, C)`` a volume with its channels last (MSD),
        and ``(X, Y, 1, C)`` a 2D image with its channels last.

    Args:
        data: the voxels as stored (:func:`read_nifti_voxels`).
        path: the file, for messages.

    Returns:
        ``(C, X, Y)`` or ``(C, X, Y, Z)``, a view of ``data`` where it can be.

    Raises:
        ValueError: any other shape (naming ``path``).

    Example:
        >>> nifti_channels(np.zeros((4, 5, 1, 2)), "t1_t2.nii.gz").shape
        (2, 4, 5)
    """
    if data.ndim == 4:
        channels = np.moveaxis(data, -1, 0)
    elif data.ndim in (2, 3):
        channels = data[None]
    else:
        raise ValueError(f"{path}: expected a 2D, 3D or 4D NIfTI image, got shape {data.shape}")
    if channels.ndim == 4 and channels.shape[3] == 1:  # one slice: a 2D image
        channels = channels[..., 0]
    return channels


def drop_singleton_channel(data: np.ndarray) -> np.ndarray:
    """``(X, Y, Z, 1)`` voxels (a 3D map saved with a trailing channel axis) as ``(X, Y, Z)``;
    any other array unchanged."""
    return data[..., 0] if data.ndim == 4 and data.shape[-1] == 1 else data


def write_nifti(
    path: str | os.PathLike,
    data: np.ndarray,
    affine: np.ndarray | None = None,
    spacing: tuple[float, ...] | None = None,
    header=None,
) -> None:
    """Write ``data`` as NIfTI atomically.

    Args:
        data: 2D, 3D (or 4D) array in voxel axis order.
        affine: 4x4 voxel-to-world matrix; when None, a diagonal affine of ``spacing``.
        spacing: voxel size, used when ``affine`` is None (default 1 mm; a 2D spacing
            gets 1 mm along the third axis).
        header: a nibabel header to write the data with (a prediction keeps its input's
            qform and sform codes, units and description, so tools that compare
            geometry see the input's); its data type, scaling and display range
            (``cal_min``/``cal_max``), which describe the input's intensities, are
            replaced by ``data``'s; a NIfTI-2 header writes NIfTI-2. None writes a fresh
            NIfTI-1 header.
    """
    import nibabel as nib

    if affine is None:
        sizes = (*(spacing or ()), 1.0, 1.0, 1.0)[:3]
        affine = np.diag([*sizes, 1.0])
    data = np.asarray(data)
    kind = nib.Nifti2Image if isinstance(header, nib.Nifti2Header) else nib.Nifti1Image
    image = kind(data, np.asarray(affine, dtype=np.float64), header)
    image.header.set_data_dtype(data.dtype)
    if header is not None:
        image.header.set_slope_inter(None, None)
        image.header["cal_min"] = image.header["cal_max"] = 0
    with atomic_path(path) as tmp:
        nib.save(image, str(tmp))


# --- 2D images ----------------------------------------------------------------------------


def read_image_2d(path: str | os.PathLike, mode: str | None = None) -> np.ndarray:
    """Read a 2D image with Pillow (PNG, JPEG, TIFF, GIF, PPM/PGM, BMP).

    A name ending in ``.gz`` (e.g. STARE's ``im0001.ppm.gz``) is decompressed first.

    Args:
        mode: a Pillow mode to convert to (``"L"`` grey, ``"RGB"``), or None to keep
            the file's; then bilevel images read as {0, 255} and palette images as their
            colours (``"L"`` for a grey palette, ``"RGB"`` otherwise). Label and mask
            files are read by their meaning with :func:`read_grey_2d` instead.

    Returns:
        ``(H, W)`` or ``(H, W, channels)`` array.

    Raises:
        ValueError: the file is missing, unreadable or corrupt (the message names it).
    """
    with _open_pillow(path) as image:
        if mode is not None:
            image = image.convert(mode)
        elif image.mode in ("P", "PA"):
            image = image.convert("RGB" if _palette_has_colour(image) else "L")
        elif image.mode == "1":
            image = image.convert("L")
        return np.asarray(image)


def read_image_channels(path: str | os.PathLike) -> np.ndarray:
    """Read a 2D image as channel-first float32 scaled to [0, 1] from its dtype's range.

    Convention:
        Grey (and grey-palette) images give one channel, colour images three (RGB;
        CMYK, YCbCr and colour palettes are converted to RGB). Alpha is dropped.
        8-bit data is divided by 255 and 16-bit data by 65535; Pillow's 32-bit integer
        mode (``"I"``) is taken as 16-bit data when it fits, and float images (mode
        ``"F"``) are returned unscaled.

    Returns:
        ``(C, H, W)`` float32 array with C = 1 or 3.

    Raises:
        ValueError: the file is missing, unreadable or corrupt, or holds 32-bit integer
            values beyond the 16-bit range (the message names it).
    """
    path = Path(path)
    with _open_pillow(path) as image:
        if image.mode == "P":
            image = image.convert("RGB" if _palette_has_colour(image) else "L")
        elif image.mode in ("1", "LA", "La", "PA"):
            image = image.convert("L")
        elif image.mode not in ("L", "RGB", "F", "I") and not image.mode.startswith("I;16"):
            image = image.convert("RGB")  # RGBA, RGBa, CMYK, YCbCr, LAB, HSV
        array = np.asarray(image)
    if array.dtype == np.uint8:
        scaled = array.astype(np.float32) / 255.0
    elif (array.dtype.kind == "u" and array.dtype.itemsize == 2) or array.dtype == np.int32:
        if array.size and (array.min() < 0 or array.max() > 65535):
            raise ValueError(
                f"{path}: integer image with values in [{array.min()}, {array.max()}]; "
                "expected 16-bit data in [0, 65535]"
            )
        scaled = array.astype(np.float32) / 65535.0
    else:
        scaled = array.astype(np.float32)
    if scaled.ndim == 2:
        return scaled[None]
    return np.ascontiguousarray(np.moveaxis(scaled, -1, 0))


def read_grey_2d(path: str | os.PathLike, what: str = "label") -> np.ndarray:
    """Read a label or mask image by what its pixels mean, as grey values ``(H, W)``.

    The one reader of label and mask images: every dataset reader and ``prepare`` use
    it, so a file reads the same everywhere.

    Convention, per Pillow mode:
        - ``"1"`` (bilevel PNG/TIFF): {0, 255}.
        - ``"L"``, ``"LA"``, ``"I"``, ``"I;16"``, ``"F"`` (grey): the stored values;
          alpha is ignored.
        - ``"P"`` (palette; GIF stores nothing else, though Pillow reports a plain grey
          ramp as ``"L"``): the order of the entries is the encoder's choice, so a grey
          palette is read by its colours, not its indices: each pixel takes its entry's
          grey level. When exactly two grey entries are used, one dark (< 128) and one
          bright (>= 128), the image is a bilevel mask and reads as {0, 255}. When
          exactly two entries are used and one is not grey, the image is a bilevel mask
          whatever its colours: the darker entry (by luminance; the lower index if
          equal) reads as 0, the other as 255. DRIVE's ``test/2nd_manual/*.gif`` are
          such files: indices 0/1 with the near-grey entries (4, 2, 4) and
          (252, 254, 252), so they read as {0, 255} like the 1st_manual files (index 0
          is the dark entry there, so reading indices would agree). A palette with
          colours using three or more entries is a class map (PASCAL VOC style) and
          reads as its indices.
        - ``"RGB"``/``"RGBA"`` and other colour modes (STARE's ``.ppm`` labels): accepted
          when the colour channels are equal, read as that grey; alpha is ignored.

    Args:
        what: ``"label"`` or ``"mask"``, for error messages.

    Raises:
        ValueError: unreadable file, colour channels that differ, or a palette index
            beyond the palette (the message names the file).
    """
    with _open_pillow(path) as image:
        mode = image.mode
        if mode == "1":
            return np.asarray(image.convert("L"))
        if mode in ("P", "PA"):
            return _palette_grey(image, path, what)
        if mode in ("L", "LA", "La", "F", "I") or mode.startswith("I;16"):
            data = np.asarray(image)
            return data[..., 0] if data.ndim == 3 else data
        colour = np.asarray(image.convert("RGB"))
    if np.any(colour != colour[..., :1]):
        raise ValueError(f"{path}: {what} has colour channels that differ; expected grey")
    return colour[..., 0]


#: ITU-R BT.601 weights of R, G, B in the luminance that orders two palette colours.
_LUMINANCE = np.array([0.299, 0.587, 0.114])


def _palette_grey(image, path: str | os.PathLike, what: str) -> np.ndarray:
    """A palette image's pixels as grey levels (grey palette) or indices (colour palette)."""
    indices = np.asarray(image)
    if indices.ndim == 3:  # "PA": index and alpha
        indices = indices[..., 0]
    palette = np.asarray(image.getpalette("RGB") or [], dtype=np.uint8).reshape(-1, 3)
    used = np.unique(indices)
    if used.size and int(used[-1]) >= len(palette):
        raise ValueError(
            f"{path}: {what} uses palette index {int(used[-1])} but the palette has "
            f"{len(palette)} entries"
        )
    colours = palette[used]
    if np.any(colours != colours[:, :1]):
        if used.size == 2:  # two colours: a bilevel mask, whatever the colours are
            luminance = colours.astype(np.float64) @ _LUMINANCE
            bright = used[1] if luminance[1] >= luminance[0] else used[0]
            return np.where(indices == bright, 255, 0).astype(np.uint8)
        return indices.copy()
    levels = colours[:, 0]
    if levels.size == 2 and levels.min() < 128 <= levels.max():
        levels = np.where(levels >= 128, 255, 0).astype(np.uint8)
    lookup = np.zeros(256, dtype=np.uint8)
    lookup[used] = levels
    return lookup[indices]


def read_mask_2d(path: str | os.PathLike) -> np.ndarray:
    """Read a binary mask (e.g. a field of view) stored as {0, 255} or {0, 1}, as bool ``(H, W)``.

    Pixel values are read by :func:`read_grey_2d` (so palette and bilevel files work).

    Raises:
        ValueError: unreadable file, or values other than {0, 255} / {0, 1} (names the file
            and the values found).
    """
    raw = read_grey_2d(path, "mask")
    values = np.unique(raw).tolist()
    if not (set(values) <= {0, 255} or set(values) <= {0, 1}):
        shown = ", ".join(map(str, values[:8])) + (", ..." if len(values) > 8 else "")
        raise ValueError(f"{path}: mask values {{{shown}}}; expected {{0, 255}} or {{0, 1}}")
    return raw > 0


def read_nonzero_mask_2d(path: str | os.PathLike, what: str = "label") -> np.ndarray:
    """Read a binary mask in which any non-zero pixel is foreground, as bool ``(H, W)``.

    For layouts whose masks are not stored as clean grey levels, such as IDRiD's lesion
    masks (a lesion is any non-zero pixel, whether the file stores it as 1, 255 or a red
    ``(255, 0, 0)`` pixel). A pixel is foreground when any of its colour channels (a
    palette entry's colour, for palette images) is non-zero; alpha is ignored.

    Args:
        what: ``"label"`` or ``"mask"``, for error messages.

    Raises:
        ValueError: the file is missing, unreadable or corrupt (the message names it).
    """
    with _open_pillow(path) as image:
        mode = image.mode
        if mode in ("P", "PA"):
            image = image.convert("RGB")
        elif mode in ("1", "LA", "La"):
            image = image.convert("L")
        elif mode not in ("L", "RGB", "F", "I") and not mode.startswith("I;16"):
            image = image.convert("RGB")  # RGBA, CMYK, YCbCr: alpha dropped
        data = np.asarray(image)
    if data.ndim == 3:
        return np.any(data != 0, axis=-1)
    if data.ndim != 2:
        raise ValueError(f"{path}: {what} has shape {data.shape}; expected a 2D image")
    return data != 0


def _palette_has_colour(image) -> bool:
    rgb = np.asarray(image.convert("RGB"))
    return bool(np.any(rgb != rgb[..., :1]))


@contextlib.contextmanager
def _open_pillow(path: str | os.PathLike):
    """Yield ``path`` opened with Pillow and loaded; a failure to read it becomes a ValueError."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: file not found")
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as compressed:
                image = Image.open(io.BytesIO(compressed.read()))
        else:
            image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, EOFError) as error:
        raise ValueError(f"{path}: cannot read image ({error})") from error
    try:
        yield image
    finally:
        image.close()


def write_image_2d(path: str | os.PathLike, data: np.ndarray) -> None:
    """Write a 2D image atomically, in the format its suffix names (Pillow).

    Args:
        path: destination; ``.png``, ``.tif``, ``.gif``, ``.ppm``, ``.pgm``, ``.jpg``,
            ``.bmp`` (anything Pillow writes).
        data: ``(H, W)`` grey (uint8, uint16 or bool) or ``(H, W, 3)`` uint8 RGB. Bool
            masks are written as {0, 255}.

    Raises:
        ValueError: the array is not a 2D grey or RGB image, or the suffix is not an
            image format Pillow writes (the message names the file).
    """
    from PIL import Image

    extension = Path(path).suffix.lower()
    image_format = Image.registered_extensions().get(extension)
    if image_format is None:
        raise ValueError(f"{path}: unknown image suffix {extension!r}")
    _write_pillow(path, data, image_format)


def write_png(path: str | os.PathLike, data: np.ndarray) -> None:
    """Write a 2D uint8/uint16 array (grey) or ``(H, W, 3)`` uint8 array as PNG atomically."""
    _write_pillow(path, data, "PNG")


def _write_pillow(path: str | os.PathLike, data: np.ndarray, image_format: str) -> None:
    from PIL import Image

    array = np.asarray(data)
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] != 3):
        raise ValueError(
            f"{path}: expected a (H, W) grey or (H, W, 3) RGB image, got shape {array.shape}"
        )
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format=image_format)
