"""Signed (and unsigned) distance maps to the boundary of each class.

Kervadec et al., "Boundary loss for highly unbalanced segmentation", MIDL 2019.
Valverde & Tohka, "Region-wise loss for biomedical image segmentation".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from ._backend import array_module, distance_to_other_label
from ._geometry import bounding_box, class_counts, interface_mask, shifted_labels
from ._inputs import compute_maps

Convention = Literal["paper", "official", "rw"]
CONVENTIONS: tuple[str, ...] = ("paper", "official", "rw")


def _check_convention(convention: str) -> None:
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")


def signed_distance_map(
    label: Any,
    num_classes: int | None,
    spacing: Sequence[float] | float | None = None,
    convention: Convention = "paper",
    *,
    batch: bool = False,
    one_hot: bool = False,
) -> Any:
    """Signed distance to the boundary of each class (one-vs-rest).

    Convention:
        For class k with region G (its pixels) and boundary set dG (pixels of G with a
        face-neighbour outside G), distances are Euclidean between pixel centres, in
        physical units when ``spacing`` is given (else pixels):

        - ``"paper"`` (default): ``-dist(x, dG)`` inside G, exactly ``0`` on dG,
          ``+dist(x, dG)`` outside. Correct for any spacing: the boundary is 0, the
          interior strictly negative, the exterior strictly positive, and the map is
          1-Lipschitz on each side.
        - ``"official"``: the original boundary-loss code,
          ``edt(~G) * ~G - (edt(G) - 1) * G``, in float32 (the original 2D path
          truncated it to integers). Equals MONAI's ``BoundaryLoss`` map. Flaw: the
          ``- 1`` assumes unit spacing; with a spacing below 1 (e.g. 0.9 mm) boundary
          pixels of G get ``1 - 0.9 = +0.1``, a positive value *inside* the object.
        - ``"rw"``: the Region-wise code's map, ``edt(~G) * ~G - edt(G) * G``: no zero
          level, inside values start at ``-spacing``.

        A class absent from the label, or covering the whole image, has no boundary:
        its channel is all zeros (the original code returned scipy's edge-distance
        artefact for a full class).

    Args:
        label: integer class indices ``(*spatial)`` (2D or 3D), or with
            ``one_hot=True`` binary masks ``(C, *spatial)`` (masks may overlap). With
            ``batch=True`` a leading batch axis is added. NumPy array or torch tensor;
            float labels are accepted when integral.
        num_classes: C; optional for one-hot input (must match its channels if given).
        spacing: pixel size per spatial axis in physical units (NumPy axis order), a
            scalar for isotropic spacing, or None for unit spacing.
        convention: ``"paper"``, ``"official"`` or ``"rw"``, see above.
        batch: ``label`` has a leading batch axis.
        one_hot: ``label`` holds one binary mask per class.

    Returns:
        float32 ``(C, *spatial)`` (or ``(B, C, *spatial)``), same array type as
        ``label``; torch tensors come back on the input's device.

    Raises:
        ValueError: unknown convention, labels outside ``[0, C)``, non-integral float
            labels, wrong spacing length, non-positive spacing, bad shapes.

    Example:
        >>> import numpy as np
        >>> label = np.zeros((5, 5), dtype=np.int64); label[1:4, 1:4] = 1
        >>> signed_distance_map(label, 2)[1]
        array([[1.4142135, 1.       , 1.       , 1.       , 1.4142135],
               [1.       , 0.       , 0.       , 0.       , 1.       ],
               [1.       , 0.       , -1.      , 0.       , 1.       ],
               [1.       , 0.       , 0.       , 0.       , 1.       ],
               [1.4142135, 1.       , 1.       , 1.       , 1.4142135]], dtype=float32)
    """
    _check_convention(convention)
    return compute_maps(
        label,
        num_classes,
        spacing,
        batch=batch,
        one_hot=one_hot,
        from_labels=lambda lab, c, sp: _signed_from_labels(lab, c, sp, convention),
        from_masks=lambda masks, sp: _signed_from_masks(masks, sp, convention),
    )


def unsigned_distance_map(
    label: Any,
    num_classes: int | None,
    spacing: Sequence[float] | float | None = None,
    convention: Convention = "rw",
    *,
    batch: bool = False,
    one_hot: bool = False,
) -> Any:
    """Unsigned distance map ``|signed_distance_map(...)|``, as used by the Hausdorff loss.

    Convention:
        With the default ``"rw"`` convention every pixel holds the distance to the
        nearest pixel on the other side of its class boundary, ``edt(G) + edt(~G)``
        (Karimi & Salcudean's ``d_G``; MONAI's ``HausdorffDTLoss`` field). With
        ``"paper"`` it is the distance to the boundary set dG (0 on dG). Absent and
        full classes give zeros. Arguments as in :func:`signed_distance_map`.

    Returns:
        float32 ``(C, *spatial)`` (or ``(B, C, *spatial)``), non-negative.
    """
    signed = signed_distance_map(
        label, num_classes, spacing, convention, batch=batch, one_hot=one_hot
    )
    return abs(signed)


def _signed_from_labels(
    labels: Any, num_classes: int, spacing: tuple[float, ...] | None, convention: str
) -> Any:
    """Kernel for mutually exclusive integer labels ``(*spatial)``.

    With exactly two classes present one multi-label transform gives both sides of
    both classes; otherwise each class costs one (two-sided) transform. The paper
    convention adds one multi-label transform whose zeros are all interfaces: for an
    interior pixel of class k the nearest pixel that is not interior to k lies on dG_k.
    """
    xp = array_module(labels)
    out = xp.zeros((num_classes, *labels.shape), dtype=xp.float32)
    counts = class_counts(labels, num_classes)
    present = [k for k, n in enumerate(counts) if 0 < n < labels.size]
    if not present:
        return out

    shifted = shifted_labels(labels)
    shared = distance_to_other_label(shifted, spacing) if len(present) == 2 else None
    interior = None
    if convention == "paper":
        interior = distance_to_other_label(
            xp.where(interface_mask(labels), 0, shifted).astype(shifted.dtype), spacing
        )

    for k in present:
        mask = labels == k
        two_sided = (
            shared
            if shared is not None
            else distance_to_other_label(mask.astype(xp.uint8) + xp.uint8(1), spacing)
        )
        out[k] = _combine(mask, two_sided, interior, convention)
    return out


def _signed_from_masks(masks: Any, spacing: tuple[float, ...] | None, convention: str) -> Any:
    """Kernel for one binary mask per class ``(C, *spatial)`` (masks may overlap)."""
    xp = array_module(masks)
    out = xp.zeros(masks.shape, dtype=xp.float32)
    for k, mask in enumerate(masks):
        if not bool(mask.any()) or bool(mask.all()):
            continue
        two_sided = distance_to_other_label(mask.astype(xp.uint8) + xp.uint8(1), spacing)
        interior = None
        if convention == "paper":
            # The nearest boundary pixel of an interior pixel lies in G's bounding box.
            box = bounding_box(mask, margin=1)
            sub = mask[box]
            marked = xp.where(interface_mask(sub) | ~sub, 0, 1).astype(xp.uint8)
            interior = xp.zeros(mask.shape, dtype=xp.float32)
            interior[box] = distance_to_other_label(marked, spacing)
        out[k] = _combine(mask, two_sided, interior, convention)
    return out


def _combine(mask: Any, two_sided: Any, interior: Any, convention: str) -> Any:
    """Signed map of one class from the distances its kernels computed.

    ``two_sided``: for pixels outside the class, the distance to the nearest class pixel
    (for an outside point the nearest pixel of G always lies on dG, so this is also the
    distance to dG); for pixels inside, the distance to the nearest pixel outside.
    ``interior``: for pixels inside, the distance to dG (paper convention only).
    """
    xp = array_module(mask)
    if convention == "paper":
        inside = interior
    elif convention == "official":
        inside = two_sided - 1.0
    else:
        inside = two_sided
    # "+ 0.0" turns the -0.0 of boundary pixels into 0.0.
    return xp.where(mask, -inside, two_sided) + np.float32(0.0)
