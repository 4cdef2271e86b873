"""Fields of view: the image region a dataset's reference labels are defined in.

Retinal photographs (DRIVE, STARE, CHASE_DB1) are scored inside the circular field of
view only; readers put it in :attr:`Case.fov <boundaryloss.data.Case.fov>` (DRIVE's
``mask/`` files, prepared datasets' ``masks<Tr|Ts>/``, or the red-channel threshold of
:func:`~boundaryloss.data.red_channel_fov` for CHASE_DB1 and STARE).
:func:`restrict_case_to_fov` is the one rule by which ``boundaryloss evaluate``,
``boundaryloss evaluate-folder`` and the validation during training score a case inside it.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def restrict_to_fov(labels: np.ndarray, fov: np.ndarray | None, what: str = "labels") -> np.ndarray:
    """Class indices with every pixel outside the field of view set to background.

    Convention:
        Setting prediction and reference both to 0 outside the FOV removes those pixels
        from the true positives, false positives and false negatives of every class
        >= 1, so Dice, precision, recall and surface distances are computed inside the
        FOV only. True negatives (and anything scoring class 0) must still be counted
        inside the FOV alone: see :func:`~boundaryloss.evaluation.pixel_level.confusion_counts`.

    Args:
        labels: integer class indices ``(*spatial)``.
        fov: bool ``(*spatial)``, True inside; None means no field of view (``labels``
            is returned as is).
        what: name of ``labels`` in error messages.

    Returns:
        A new array (or ``labels`` itself when ``fov`` is None), same dtype and shape.

    Raises:
        ValueError: ``fov`` has another shape than ``labels``, or is empty.
    """
    if fov is None:
        return labels
    fov = np.asarray(fov, dtype=bool)
    if fov.shape != labels.shape:
        raise ValueError(
            f"field-of-view mask shape {fov.shape} does not match {what} shape {labels.shape}"
        )
    if not fov.any():
        raise ValueError(f"field-of-view mask of the {what} is empty")
    return np.where(fov, labels, np.zeros((), dtype=labels.dtype))


def solid_fov(mask: np.ndarray, erosion: int = 0) -> np.ndarray:
    """A thresholded field of view made one solid region, optionally shrunk.

    Convention:
        Keeps the largest 4-connected region of ``mask`` (specks of background noise
        above the threshold go), fills its holes (dark lesions or vessels inside the
        retina that fell below the threshold are still inside), then erodes it by
        ``erosion`` pixels in the city-block metric (a radius-``erosion`` diamond) away
        from the aperture's edge only: the image border does not erode it, because a
        field of view cut by the border (STARE, CHASE_DB1 photographs) ends there
        without a dim rim.

    Args:
        mask: bool ``(H, W)``, e.g. a red-channel threshold.
        erosion: pixels removed along the aperture's edge; 0 keeps it.

    Returns:
        bool ``(H, W)``; all False when ``mask`` is.

    Raises:
        ValueError: ``erosion`` is negative.
    """
    if erosion < 0:
        raise ValueError(f"erosion must be >= 0 pixels, got {erosion}")
    regions, count = ndimage.label(mask)
    if count == 0:
        return np.zeros(mask.shape, dtype=bool)
    sizes = np.bincount(regions.ravel())[1:]
    solid = ndimage.binary_fill_holes(regions == 1 + int(np.argmax(sizes)))
    if erosion:
        cross = ndimage.generate_binary_structure(mask.ndim, 1)
        solid = ndimage.binary_erosion(solid, cross, iterations=erosion, border_value=1)
    return solid


def restrict_case_to_fov(
    prediction: np.ndarray,
    reference: np.ndarray,
    fov: np.ndarray | None,
    case_id: str,
    *,
    names: tuple[str, str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A case's prediction and reference as they are scored: inside its field of view.

    Both are set to background outside ``fov`` (:func:`restrict_to_fov`), so a
    prediction that is wrong only outside the FOV scores as perfect. ``boundaryloss
    evaluate``, ``boundaryloss evaluate-folder`` and the validation during training all
    call this, so the checkpoint that validation Dice selects is chosen by the score the
    evaluations report.

    Args:
        prediction, reference: integer class indices ``(*spatial)``.
        fov: bool ``(*spatial)``, True inside; None leaves both unchanged.
        case_id: names the case in error messages.
        names: how error messages name the prediction and the reference (e.g. their
            files); default ``"prediction of CASE"`` and ``"label of CASE"``.

    Returns:
        ``(prediction, reference)``, restricted.

    Raises:
        ValueError: ``fov`` has another shape than either array, or is empty.
    """
    if names is None:
        names = (f"prediction of {case_id}", f"label of {case_id}")
    return (
        restrict_to_fov(prediction, fov, names[0]),
        restrict_to_fov(reference, fov, names[1]),
    )
