"""Load a trained model from a checkpoint and segment files or whole cases."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from .._files import TEMP_MARKER, final_suffix
from .._lock import DirectoryLock
from .._ownership import is_written_by, record_written
from ..data.case import Case, check_finite_image
from ..data.io import (
    IMAGE_2D_SUFFIXES,
    LOSSLESS_2D_SUFFIXES,
    NIFTI_SUFFIXES,
    has_suffix,
    load_nifti,
    nifti_channels,
    nifti_spacing,
    read_image_channels,
    read_nifti_voxels,
    spacing_unit_of,
    write_image_2d,
    write_nifti,
)
from ..training.checkpoint_files import checkpoint_config, load_checkpoint, load_model_state
from ..training.components import build_checked_model, check_model
from ..training.config import RunConfig
from ..training.data import make_preprocess
from .inference import (
    NonFiniteOutput,
    inference_settings,
    inference_window,
    network_input_shape,
    predict_case,
)
from .probability_maps import labels_from_probabilities, probability_path, write_probabilities

#: The command that writes label maps, as the file record of their folder names it.
WRITTEN_BY = "boundaryloss predict"


def _count(state: dict, key: str) -> int | None:
    """An integer entry of a checkpoint, or None when absent."""
    value = state.get(key)
    return None if value is None else int(value)


@dataclass
class Predictor:
    """A trained model with the preprocessing it was trained with."""

    model: torch.nn.Module
    config: RunConfig
    in_channels: int
    device: torch.device
    mirror: bool | None = None  # test-time mirroring; None: the run's inference.mirror
    #: Epochs completed and optimiser steps taken when the checkpoint was saved (None
    #: when it does not say), read from the state the weights came from.
    epoch: int | None = None
    global_step: int | None = None
    #: channels of the training images before ``data.channels`` selected among them
    #: (None: a checkpoint of an earlier version, or no selection)
    image_channels: int | None = None

    @classmethod
    def from_checkpoint(
        cls, path: str | os.PathLike, device: str = "cpu", mirror: bool | None = None
    ) -> Predictor:
        """Load a checkpoint onto ``device`` (checked first: ``cpu``, ``cuda:0``, ...).

        Args:
            mirror: test-time mirroring on or off (None: the run's ``inference.mirror``).

        Raises:
            ValueError: an unknown or unavailable device, an unreadable checkpoint, or a
                stored model that does not build or whose weights exceed the available
                memory (:func:`~boundaryloss.training.components.check_model`).
        """
        target = parse_device(device)
        state = load_checkpoint(path)
        config = checkpoint_config(state, path)
        try:  # checked first: a stored depth of 25 must not allocate until the OOM killer
            model = build_checked_model(
                config.model, state["in_channels"], config.data.num_classes, training=False
            )
        except KeyError as error:
            raise ValueError(f"{path}: checkpoint has no {error} entry") from None
        except ValueError as error:  # ConfigError is a ValueError
            raise ValueError(f"{path}: stored model does not build ({error})") from None
        load_model_state(model, state["model"], str(path))
        model.to(target).eval()
        return cls(
            model,
            config,
            state["in_channels"],
            target,
            mirror,
            epoch=_count(state, "epoch"),
            global_step=_count(state, "global_step"),
            image_channels=_count(state, "image_channels"),
        )

    def check(self, case: Case) -> None:
        """Refuse a case this model cannot segment (channels, dimensionality, NaN or
        infinite intensities, a network input too large for the available memory).

        Raises:
            ValueError: naming the file.
        """
        source = case.provenance
        selected = self.config.data.channels
        if selected is not None and self.image_channels not in (None, case.image.shape[0]):
            raise ValueError(
                f"{source}: the model was trained on images of {self.image_channels} "
                f"channel(s), reading {selected} of them (data.channels); this image has "
                f"{case.image.shape[0]}"
            )
        if selected is not None and case.image.shape[0] <= max(selected):
            raise ValueError(
                f"{source}: the model reads image channel(s) {selected} (data.channels), "
                f"the image has {case.image.shape[0]}"
            )
        if selected is None and case.image.shape[0] != self.in_channels:
            raise ValueError(
                f"{source}: the model expects {self.in_channels} image channel(s), "
                f"got {case.image.shape[0]}"
            )
        if self.config.model.spatial_dims == 3 and case.ndim != 3:
            raise ValueError(
                f"{source}: the model is 3D and segments volumes; this is a 2D image of "
                f"shape {case.meta.get(STORED_SHAPE, case.spatial_shape)}"
            )
        check_finite_image(case)
        try:  # before any memory is spent on it: e.g. a deep UNet's padding of the input
            check_model(
                self.config.model,
                self.in_channels,
                self.config.data.num_classes,
                network_input_shape(self.config, case.spatial_shape),
                smallest_batch=1,
                training=False,
            )
        except ValueError as error:
            raise ValueError(f"{source}: {error}") from None

    @torch.no_grad()
    def probabilities(self, case: Case) -> np.ndarray:
        """Softmax probabilities ``(K, *spatial)`` on the case's own grid.

        Raises:
            ValueError: the case cannot be segmented (:meth:`check`), or the network
                output for it is NaN or infinite (``NonFiniteOutput``, naming its file).
        """
        self.check(case)
        preprocess = make_preprocess(self.config.data, source_channels=self.image_channels)
        prepared = preprocess(case.with_arrays(label=None, fov=None))
        image = torch.from_numpy(np.ascontiguousarray(prepared.image)).to(self.device)
        settings = inference_settings(self.config)
        try:
            probs = predict_case(
                self.model,
                image,
                self.config.model.spatial_dims,
                self.config.data.slice_axis,
                inference_window(self.config),
                overlap=settings.overlap,
                mirror=settings.mirror if self.mirror is None else self.mirror,
            )
        except NonFiniteOutput as error:
            raise NonFiniteOutput(f"{case.provenance}: {error}") from None
        probs = probs.cpu().numpy()
        if probs.shape[1:] != case.spatial_shape:  # trained on resized cases: back to the grid
            factors = [o / p for o, p in zip(case.spatial_shape, probs.shape[1:], strict=True)]
            probs = np.stack(
                [
                    ndimage.zoom(p, factors, order=1, grid_mode=True, mode="grid-constant")
                    for p in probs
                ]
            )
        return probs

    def segment(self, case: Case) -> np.ndarray:
        """Label map ``(*spatial)`` (uint8) on the case's grid: the argmax of
        :meth:`probabilities` (:func:`~.probability_maps.labels_from_probabilities`)."""
        return labels_from_probabilities(self.probabilities(case))


#: ``Case.meta`` key of a NIfTI input's spatial shape as stored, e.g. ``(X, Y, 1)``.
STORED_SHAPE = "stored_shape"
#: ``Case.meta`` key of a NIfTI input's header, which its prediction is written with.
NIFTI_HEADER = "nifti_header"


def read_input(path: Path) -> Case:
    """A single image file as an unlabelled case (NIfTI 2D/3D/4D, or a 2D image).

    A NIfTI case keeps its header and stored shape in ``meta`` (:data:`NIFTI_HEADER`,
    :data:`STORED_SHAPE`), so :func:`write_output` writes its labels as the input is.
    """
    if has_suffix(path, NIFTI_SUFFIXES):
        nifti = load_nifti(path)
        data = read_nifti_voxels(nifti, path)
        image = nifti_channels(data, path)
        spacing = nifti_spacing(nifti, path, image.ndim - 1)
        return Case(
            path.name,
            image.astype(np.float32),
            None,
            spacing,
            spacing_unit=spacing_unit_of(path),
            affine=np.asarray(nifti.affine, dtype=np.float64),
            source=(path,),
            meta={STORED_SHAPE: data.shape[:3], NIFTI_HEADER: nifti.header},
        )
    if has_suffix(path, IMAGE_2D_SUFFIXES):
        image = read_image_channels(path)
        unit = spacing_unit_of(path)
        return Case(path.name, image, None, (1.0, 1.0), source=(path,), spacing_unit=unit)
    raise ValueError(
        f"{path}: unsupported file type; expected NIfTI ({', '.join(NIFTI_SUFFIXES)}) or a 2D "
        f"image ({', '.join(IMAGE_2D_SUFFIXES)})"
    )


def write_output(path: Path, labels: np.ndarray, case: Case) -> None:
    """Write uint8 labels in the input's format: NIfTI of the input's stored shape with
    its affine and header (:func:`~boundaryloss.data.io.write_nifti`), or a 2D image."""
    labels = labels.astype(np.uint8)
    if case.affine is not None:
        shape = case.meta.get(STORED_SHAPE, labels.shape)
        header = case.meta.get(NIFTI_HEADER)
        write_nifti(path, labels.reshape(shape), affine=case.affine, header=header)
    else:
        write_image_2d(path, labels)


def write_output_probabilities(path: Path, probabilities: np.ndarray, case: Case) -> None:
    """Write probabilities ``(K, *spatial)`` in the format of :mod:`.probability_maps`:
    NIfTI with the input's stored shape, affine and header plus a last class axis for a
    NIfTI input, ``.npz`` for a 2D image."""
    write_probabilities(
        path,
        probabilities,
        affine=case.affine,
        stored_shape=case.meta.get(STORED_SHAPE),
        header=case.meta.get(NIFTI_HEADER),
    )


def output_name(input_path: Path) -> str:
    """The file name of an input's label map: ``.nii.gz`` for a NIfTI input, ``.png`` for
    a 2D image (lossless, whatever the input's format).

    Example:
        >>> output_name(Path("in/case.nii")), output_name(Path("in/01_test.tif"))
        ('case.nii.gz', '01_test.png')
    """
    name = input_path.name
    if has_suffix(name, NIFTI_SUFFIXES):
        return name if name.endswith(".nii.gz") else name + ".gz"
    return Path(name).with_suffix(".png").name


def parse_device(device: str) -> torch.device:
    """A torch device that exists on this machine.

    Raises:
        ValueError: an unknown device string, or CUDA/MPS that is not available (the
            message names ``--device``'s value).
    """
    try:
        target = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise ValueError(
            f"device {device!r}: not a torch device (e.g. cpu, cuda, cuda:0)"
        ) from None
    if target.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"device {device!r}: CUDA is not available on this machine")
        if target.index is not None and target.index >= count:
            raise ValueError(f"device {device!r}: this machine has {count} CUDA device(s)")
    elif target.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"device {device!r}: MPS is not available on this machine")
    elif target.type != "cpu":
        raise ValueError(f"device {device!r}: unsupported; use cpu, cuda[:N] or mps")
    return target


def check_output_format(source: Path, output: Path) -> None:
    """Refuse an output file name whose format cannot hold the labels of ``source``.

    Labels are written in the input's format: NIfTI (with its affine) for a NIfTI input,
    a lossless 2D image (PNG, TIFF, ...) for a 2D image.

    Raises:
        ValueError: naming ``output`` and the suffixes it may have.
    """
    if has_suffix(source, NIFTI_SUFFIXES):
        allowed, what = NIFTI_SUFFIXES, "a NIfTI input's labels are written as NIfTI"
    else:
        allowed, what = LOSSLESS_2D_SUFFIXES, "a 2D input's labels need a lossless image format"
    if not has_suffix(output, allowed):
        raise ValueError(f"output {output}: {what}; use one of {', '.join(allowed)}")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def plan_outputs(inputs: list[Path], output: Path, probabilities: bool = False) -> list[Path]:
    """The label file each input is written to, refusing any plan that loses data.

    A single input file goes to ``output`` itself when it has a suffix and is not a
    folder; otherwise every input goes into the folder ``output``. With
    ``probabilities``, each label file's :func:`~.probability_maps.probability_path` is
    checked as well.

    Raises:
        ValueError: an output would be, or replace, one of the inputs; the output folder
            is an input folder; two inputs would write the same output.
    """
    single_file = len(inputs) == 1 and output.suffix != "" and not output.is_dir()
    if single_file:
        check_output_format(inputs[0], output)
    else:
        for folder in sorted({path.parent for path in inputs}):
            if _same_file(output, folder):
                raise ValueError(
                    f"output {output}: is the input folder; label maps would be written "
                    "among (and could replace) the input images. Choose another folder"
                )
    targets = [output] if single_file else [output / output_name(path) for path in inputs]
    planned = list(zip(inputs, targets, strict=True))
    if probabilities:
        planned += [(path, probability_path(target)) for path, target in planned]
    seen: dict[Path, Path] = {}
    for path, target in planned:
        for source in inputs:
            if _same_file(target, source):
                raise ValueError(
                    f"output {target}: would replace the input {source}; choose another output"
                )
        key = target.resolve()
        if key in seen:
            raise ValueError(f"output {target}: both {seen[key]} and {path} would be written there")
        seen[key] = path
    return targets


def check_replaced(targets: list[Path], overwrite: bool) -> None:
    """Refuse to replace an existing file that ``predict`` did not write, and one it
    did (a label map of an earlier prediction) unless ``overwrite``.

    A label map is ``predict``'s own while the file record of its folder says so and
    its content is unchanged (:func:`~boundaryloss._ownership.is_written_by`): a
    reference label of the same name (``predict CKPT imagesTs/ labelsTs/``), a file put
    there since, or a label map of a version before the record is not.

    Raises:
        ValueError: naming the first such file.
    """
    existing = [target for target in targets if target.exists() or target.is_symlink()]
    for target in existing:
        if not is_written_by(target, WRITTEN_BY):
            raise ValueError(
                f"output {target}: exists and was not written by boundaryloss predict; "
                "refusing to replace it. Choose another output or move that file"
            )
    if existing and not overwrite:
        raise ValueError(
            f"output {existing[0]}: exists (a label map of an earlier prediction); pass "
            "--overwrite to replace it"
        )


#: The lock file ``predict`` holds inside its output folder (beside the file record it
#: updates), so it needs no access to the folder's parent.
PREDICT_LOCK = ".boundaryloss-predict.lock"


def predict_paths(
    predictor: Predictor,
    inputs: list[Path],
    output: Path,
    progress=None,
    probabilities: bool = False,
    overwrite: bool = False,
) -> list[Path]:
    """Segment every input file; write one label file per input into ``output``
    (a folder), or to ``output`` itself for a single input file with a file name.

    With ``probabilities``, each label map's softmax probabilities are written beside
    it, every class in one file (:mod:`~boundaryloss.evaluation.probability_maps`:
    ``CASE.probabilities.nii.gz`` for a NIfTI input, ``CASE.probabilities.npz`` for a 2D
    image); the label map is their argmax.

    All or nothing: every input is read and checked against the model before anything
    is written, the label (and probability) maps are written to hidden temporary files,
    and these are renamed into place only once every input has been segmented. On any
    error no output is left (a folder this call created is removed again). The outputs
    are noted in the file record of their folder (see :func:`check_replaced`).

    Args:
        predictor: the model.
        inputs: the image files.
        output: a folder, or a file name for a single input.
        progress: called with one line per written label map.
        probabilities: also write the probability maps.
        overwrite: replace outputs an earlier prediction wrote (never other files).

    Returns:
        The label files, then (with ``probabilities``) the probability files.

    Raises:
        ValueError: an output would replace an input (see :func:`plan_outputs`), or a
            file ``predict`` did not write, or (without ``overwrite``) an earlier label
            map; or an input cannot be read or does not fit the model (names the file).
        LockHeldError: another process is predicting into the same folder (its lock,
            the hidden file :data:`PREDICT_LOCK` inside the folder, is held while this call
            runs and removed after).
    """
    targets = plan_outputs(inputs, output, probabilities)
    folder = targets[0].parent.resolve()  # one lock however the folder is spelled
    with DirectoryLock(folder, "prediction folder", path=folder / PREDICT_LOCK):
        return _predict_locked(
            predictor, inputs, output, targets, progress, probabilities, overwrite
        )


def _predict_locked(
    predictor: Predictor,
    inputs: list[Path],
    output: Path,
    targets: list[Path],
    progress: Callable[[str], None] | None,
    probabilities: bool,
    overwrite: bool,
) -> list[Path]:
    """:func:`predict_paths` once the output folder's lock is held."""
    every_output = targets + [probability_path(t) for t in targets if probabilities]
    check_replaced(every_output, overwrite)
    for path in inputs:  # check everything before the first write
        predictor.check(read_input(path))
    created = [] if output.exists() else [output]
    temporaries: list[Path] = []
    written: list[Path] = []
    try:
        for path, target in zip(inputs, targets, strict=True):
            case = read_input(path)
            scores = predictor.probabilities(case)
            temporaries.append(_temporary(target))
            written.append(target)
            write_output(temporaries[-1], labels_from_probabilities(scores), case)
            if probabilities:
                written.append(probability_path(target))
                temporaries.append(_temporary(written[-1]))
                write_output_probabilities(temporaries[-1], scores, case)
            if progress is not None:
                progress(f"{path} -> {target}")
        check_replaced(every_output, overwrite)  # again: files may have appeared meanwhile
        for temporary, target in zip(temporaries, written, strict=True):
            os.replace(temporary, target)
        record_written(written, WRITTEN_BY)
    except BaseException:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)
        for folder in created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return every_output


def _temporary(target: Path) -> Path:
    """The hidden name ``target`` is written under until every input is segmented."""
    return target.with_name(f".{target.name}{TEMP_MARKER}predict{final_suffix(target)}")


def unsupported_files(folder: Path) -> list[Path]:
    """Visible files in ``folder`` that :func:`collect_inputs` leaves out (not NIfTI or a
    2D image: ``.mha``, ``.nrrd``, notes, ...), so the caller can say they were skipped."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and not has_suffix(p, NIFTI_SUFFIXES + IMAGE_2D_SUFFIXES)
    )


def collect_inputs(path: Path) -> list[Path]:
    """The input files of ``predict``: ``path`` itself, or the NIfTI and 2D image files of
    the folder ``path`` (sorted, hidden files left out).

    Raises:
        ValueError: a folder without such files.
        FileNotFoundError: ``path`` does not exist.
    """
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(
            p
            for p in path.iterdir()
            if p.is_file()
            and has_suffix(p, NIFTI_SUFFIXES + IMAGE_2D_SUFFIXES)
            and not p.name.startswith(".")
        )
        if not files:
            raise ValueError(f"{path}: no NIfTI or 2D image files in this folder")
        return files
    raise FileNotFoundError(f"input not found: {path}")
