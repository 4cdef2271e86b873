"""The units a case's spacing (and so every distance measured on it) can be in.

Kept apart from :mod:`boundaryloss.data.case`, which documents and re-exports them, so
that the core (:mod:`boundaryloss.metrics`) can name them without importing the data
stack.
"""

from __future__ import annotations

#: Spacing in millimetres: a physical voxel size from a file's header (NIfTI).
MILLIMETRES = "mm"
#: Spacing in pixels: the image grid's own pixel (voxel) width, for images that carry no
#: physical size (PNG, TIFF, GIF, JPEG, ... and synthetic data).
PIXELS = "px"
#: The units a spacing can be in, as written after a distance ("3.2 mm").
SPACING_UNITS = (MILLIMETRES, PIXELS)
