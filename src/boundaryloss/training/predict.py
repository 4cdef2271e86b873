"""Load a trained model from a checkpoint and segment files or whole cases."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from ..data.case import Case
from ..data.io import (
    IMAGE_2D_SUFFIXES,
    NIFTI_SUFFIXES,
    has_suffix,
    read_image_channels,
    read_nifti,
    write_image_2d,
    write_nifti,
)
from .checkpoint import load_checkpoint, load_model_state
from .components import build_model
from .config import RunConfig
from .data import make_preprocess
from .inference import inference_settings, inference_window, predict_case


@dataclass
class Predictor:
    """A trained model with the preprocessing it was trained with."""

    model: torch.nn.Module
    config: RunConfig
    in_channels: int
    device: torch.device
    mirror: bool | None = None  # test-time mirroring; None: the run's inference.mirror

    @classmethod
    def from_checkpoint(
        cls, path: str | os.PathLike, device: str = "cpu", mirror: bool | None = None
    ) -> Predictor:
        state = load_checkpoint(path)
        config: RunConfig = state["config"]
        model = build_model(
            config.model, state["in_channels"], config.data.num_classes, config.model.spatial_dims
        )
        load_model_state(model, state["model"], str(path))
        model.to(device).eval()
        return cls(model, config, state["in_channels"], torch.device(device), mirror)

    @torch.no_grad()
    def probabilities(self, case: Case) -> np.ndarray:
        """Softmax probabilities ``(K, *spatial)`` on the case's own grid."""
        if case.image.shape[0] != self.in_channels:
            source = ", ".join(map(str, case.source)) or case.case_id
            raise ValueError(
                f"{source}: the model expects {self.in_channels} image channel(s), "
                f"got {case.image.shape[0]}"
            )
        preprocess = make_preprocess(self.config.data)
        prepared = preprocess(case.with_arrays(label=None, fov=None))
        image = torch.from_numpy(np.ascontiguousarray(prepared.image)).to(self.device)
        settings = inference_settings(self.config)
        probs = (
            predict_case(
                self.model,
                image,
                self.config.model.spatial_dims,
                self.config.data.slice_axis,
                inference_window(self.config),
                overlap=settings.overlap,
                mirror=settings.mirror if self.mirror is None else self.mirror,
            )
            .cpu()
            .numpy()
        )
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
        """Label map ``(*spatial)`` (uint8) on the case's grid."""
        return self.probabilities(case).argmax(0).astype(np.uint8)


def read_input(path: Path) -> Case:
    """A single image file as an unlabelled case (NIfTI 3D/4D, or a 2D image)."""
    if has_suffix(path, NIFTI_SUFFIXES):
        data, spacing, affine = read_nifti(path)
        if data.ndim == 4:  # MSD 4D files: channels last
            image = np.moveaxis(data, -1, 0)
        elif data.ndim == 3:
            image = data[None]
        else:
            raise ValueError(f"{path}: expected a 3D or 4D NIfTI volume, got shape {data.shape}")
        return Case(
            path.name, image.astype(np.float32), None, spacing[:3], affine=affine, source=(path,)
        )
    if has_suffix(path, IMAGE_2D_SUFFIXES):
        image = read_image_channels(path)
        return Case(path.name, image, None, (1.0, 1.0), source=(path,))
    raise ValueError(
        f"{path}: unsupported file type; expected NIfTI ({', '.join(NIFTI_SUFFIXES)}) or a 2D "
        f"image ({', '.join(IMAGE_2D_SUFFIXES)})"
    )


def write_output(path: Path, labels: np.ndarray, case: Case) -> None:
    """Write labels in the input's format: NIfTI with the input's affine, or PNG."""
    if case.affine is not None:
        write_nifti(path, labels.astype(np.uint8), affine=case.affine)
    else:
        write_image_2d(path, labels.astype(np.uint8))


def output_name(input_path: Path) -> str:
    name = input_path.name
    if has_suffix(name, NIFTI_SUFFIXES):
        return name if name.endswith(".nii.gz") else name + ".gz"
    return Path(name).with_suffix(".png").name


def predict_paths(
    predictor: Predictor, inputs: list[Path], output: Path, progress=None
) -> list[Path]:
    """Segment every input file; write one label file per input into ``output``
    (a folder), or to ``output`` itself for a single input file with a file name."""
    written = []
    single_file = len(inputs) == 1 and output.suffix != "" and not output.is_dir()
    for path in inputs:
        case = read_input(path)
        labels = predictor.segment(case)
        target = output if single_file else output / output_name(path)
        write_output(target, labels, case)
        written.append(target)
        if progress is not None:
            progress(f"{path} -> {target}")
    return written


def collect_inputs(path: Path) -> list[Path]:
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
