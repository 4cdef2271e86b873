"""Spatial augmentation by resampling: rotation by any angle, zoom, elastic deformation.

Convention:
    One transform, as nnU-Net's spatial transform: the output grid (``output_shape``,
    default the input's) is centred on the input's point ``(n - m) // 2 + (m - 1) / 2``
    per axis (``n`` input size, ``m`` output size), so with no deformation the output is
    exactly the centre crop ``[(n - m) // 2, (n - m) // 2 + m)``. An output voxel ``o``
    samples the input at

        ``source = centre_in + R((o - centre_out + e(o)) * spacing) / (zoom * spacing)``

    with ``R`` a rotation in physical space (so anisotropic spacing is respected),
    ``zoom`` > 1 making structures look larger, and ``e`` a smooth random displacement in
    voxels. The image is interpolated with cubic splines (``image_order``), the label
    and fov by nearest neighbour, so label values stay the input's; outside the input,
    the image reads 0, the label background (0) and the fov False.

    Maps do not survive resampling (``preserves_maps = False``): compute them after
    this transform, which is what the datasets do.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage
from scipy.spatial.transform import Rotation

from ..maps import MAP_ARGUMENTS
from .augment import Sample, _check_probability, _check_range, _spatial_ndim
from .patches import crop_padded

#: Entries the spatial transform resamples, when present.
RESAMPLED_KEYS: tuple[str, ...] = ("image", "label", "fov")


def rotation_matrix(angles: Sequence[float]) -> np.ndarray:
    """Rotation matrix for angles in radians: one angle in 2D (in the plane of axes 0
    and 1, from axis 0 towards axis 1), three in 3D (about axes 0, 1 and 2, in that
    order, as ``scipy.spatial.transform.Rotation.from_euler("xyz")``)."""
    angles = [float(a) for a in angles]
    if len(angles) == 1:
        c, s = np.cos(angles[0]), np.sin(angles[0])
        return np.array([[c, -s], [s, c]])
    if len(angles) == 3:
        return Rotation.from_euler("xyz", angles).as_matrix()
    raise ValueError(f"expected 1 angle (2D) or 3 angles (3D), got {len(angles)}")


def elastic_displacement(
    shape: Sequence[int], magnitude: float, sigma: float, rng: np.random.Generator
) -> np.ndarray:
    """A smooth random displacement field ``(ndim, *shape)`` in voxels, at most
    ``magnitude`` voxels in absolute value per axis (uniform noise smoothed by a
    Gaussian of ``sigma`` voxels, scaled so its largest entry is ``magnitude``)."""
    fields = []
    for _ in shape:
        noise = ndimage.gaussian_filter(rng.uniform(-1.0, 1.0, tuple(shape)), sigma)
        peak = float(np.abs(noise).max())
        fields.append(noise * (magnitude / peak) if peak > 0 else noise)
    return np.stack(fields)


class RandomSpatial:
    """Random rotation, zoom and elastic deformation of image, label and fov together.

    Each part is drawn independently with its own probability (nnU-Net: 0.2 each); a
    sample none of them hits is the plain centre crop to ``output_shape``.

    Args:
        rotation: largest angle in degrees; angles uniform in ``[-rotation, rotation]``
            (one in 2D; one about each axis in 3D).
        p_rotation: probability of rotating.
        scale: ``(low, high)`` range of the zoom factor (uniform), ``0 < low``.
        p_scale: probability of zooming.
        elastic_magnitude: largest displacement in voxels (drawn uniformly in
            ``[0, elastic_magnitude]`` per sample).
        elastic_sigma: smoothness of the displacement field, in voxels.
        p_elastic: probability of deforming.
        output_shape: spatial shape of the output (default: the input's).
        image_order: spline order for the image (labels always use 0).
        keys: entries resampled together.

    Raises:
        ValueError: bad ranges or probabilities; (when called) a sample that already has
            maps, or an ``output_shape`` of the wrong length.
    """

    preserves_maps = False

    def __init__(
        self,
        rotation: float = 0.0,
        p_rotation: float = 0.0,
        scale: Sequence[float] = (1.0, 1.0),
        p_scale: float = 0.0,
        elastic_magnitude: float = 0.0,
        elastic_sigma: float = 10.0,
        p_elastic: float = 0.0,
        output_shape: Sequence[int] | None = None,
        image_order: int = 3,
        keys: Sequence[str] = RESAMPLED_KEYS,
    ) -> None:
        if rotation < 0 or elastic_magnitude < 0 or elastic_sigma <= 0:
            raise ValueError(
                "rotation and elastic_magnitude must be >= 0 and elastic_sigma > 0, got "
                f"{rotation!r}, {elastic_magnitude!r}, {elastic_sigma!r}"
            )
        self.rotation = float(rotation)
        self.p_rotation = _check_probability(p_rotation, "p_rotation")
        self.scale = _check_range(scale, "scale", positive=True)
        self.p_scale = _check_probability(p_scale, "p_scale")
        self.elastic_magnitude = float(elastic_magnitude)
        self.elastic_sigma = float(elastic_sigma)
        self.p_elastic = _check_probability(p_elastic, "p_elastic")
        if output_shape is not None:
            output_shape = tuple(int(n) for n in output_shape)
            if not output_shape or min(output_shape) < 1:
                raise ValueError(f"output_shape must be positive ints, got {output_shape!r}")
        self.output_shape = output_shape
        self.image_order = int(image_order)
        self.keys = tuple(keys)

    def _draw(self, ndim: int, rng: np.random.Generator):
        """(rotation matrix or None, zoom or None, displacement magnitude or None)."""
        matrix = zoom = magnitude = None
        if rng.random() < self.p_rotation:
            limit = np.deg2rad(self.rotation)
            matrix = rotation_matrix(rng.uniform(-limit, limit, 1 if ndim == 2 else 3))
        if rng.random() < self.p_scale:
            zoom = float(rng.uniform(*self.scale))
        if rng.random() < self.p_elastic:
            magnitude = float(rng.uniform(0.0, self.elastic_magnitude))
        return matrix, zoom, magnitude

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        ndim = _spatial_ndim(sample)
        present = [k for k in MAP_ARGUMENTS if sample.get(k) is not None]
        if present:
            raise ValueError(f"resample before computing maps: the sample already has {present}")
        shape_in = np.shape(sample["image"] if "image" in sample else sample["label"])[-ndim:]
        shape_out = self.output_shape or tuple(shape_in)
        if len(shape_out) != ndim:
            raise ValueError(f"output_shape {shape_out} must have one entry per axis ({ndim})")
        matrix, zoom, magnitude = self._draw(ndim, rng)
        return resample(
            sample,
            shape_out,
            matrix=matrix,
            zoom=zoom,
            displacement=None
            if magnitude is None
            else elastic_displacement(shape_out, magnitude, self.elastic_sigma, rng),
            image_order=self.image_order,
            keys=self.keys,
        )

    def __repr__(self) -> str:
        return (
            f"RandomSpatial(rotation={self.rotation}, p_rotation={self.p_rotation}, "
            f"scale={self.scale}, p_scale={self.p_scale}, "
            f"elastic_magnitude={self.elastic_magnitude}, p_elastic={self.p_elastic}, "
            f"output_shape={self.output_shape})"
        )


def resample(
    sample: Sample,
    output_shape: Sequence[int],
    matrix: np.ndarray | None = None,
    zoom: float | None = None,
    displacement: np.ndarray | None = None,
    image_order: int = 3,
    keys: Sequence[str] = RESAMPLED_KEYS,
) -> Sample:
    """Resample the spatial entries of ``sample`` onto the deformed output grid.

    See the module docstring for the mapping; with no ``matrix``, ``zoom`` or
    ``displacement`` the result is the centre crop (no interpolation at all).

    Args:
        sample: dict with ``"image"`` ``(C, *spatial)`` and/or ``"label"``, optional
            ``"fov"`` and ``"spacing"`` (default unit spacing).
        output_shape: spatial shape of the output.
        matrix: ``(ndim, ndim)`` rotation in physical space, or None.
        zoom: zoom factor (> 1 enlarges structures), or None.
        displacement: ``(ndim, *output_shape)`` displacement in voxels, or None.
        image_order: spline order for float entries (the image); integer and bool
            entries (label, fov) use nearest neighbour.
        keys: entries resampled.
    """
    ndim = _spatial_ndim(sample)
    shape_in = np.shape(sample["image"] if "image" in sample else sample["label"])[-ndim:]
    shape_out = tuple(int(n) for n in output_shape)
    offset = [(n - m) // 2 for n, m in zip(shape_in, shape_out, strict=True)]
    out = dict(sample)
    if matrix is None and zoom is None and displacement is None:
        for key in keys:
            if out.get(key) is not None:
                array = np.asarray(out[key])
                out[key] = crop_padded(array, offset, shape_out, value=0)
        return out

    spacing = sample.get("spacing")
    spacing = np.ones(ndim) if spacing is None else np.asarray(spacing, dtype=np.float64)
    centre_out = (np.asarray(shape_out, dtype=np.float64) - 1) / 2
    centre_in = centre_out + np.asarray(offset, dtype=np.float64)
    grid = np.indices(shape_out, dtype=np.float64).reshape(ndim, -1)
    offsets = grid - centre_out[:, None]
    if displacement is not None:
        offsets = offsets + displacement.reshape(ndim, -1)
    physical = offsets * spacing[:, None]
    if matrix is not None:
        physical = np.asarray(matrix, dtype=np.float64) @ physical
    if zoom is not None:
        physical = physical / zoom
    coordinates = (physical / spacing[:, None] + centre_in[:, None]).reshape(ndim, *shape_out)

    def warp(array: np.ndarray, order: int) -> np.ndarray:
        lead = array.shape[: array.ndim - ndim]
        flat = array.reshape(-1, *array.shape[array.ndim - ndim :])
        dtype = array.dtype
        work = flat.astype(np.float32 if dtype.kind == "f" else np.int64, copy=False)
        warped = [
            ndimage.map_coordinates(channel, coordinates, order=order, mode="grid-constant", cval=0)
            for channel in work
        ]
        return np.stack(warped).reshape(*lead, *shape_out).astype(dtype, copy=False)

    for key in keys:
        if out.get(key) is None:
            continue
        array = np.asarray(out[key])
        order = image_order if array.dtype.kind == "f" else 0
        out[key] = warp(array, order)
    return out
