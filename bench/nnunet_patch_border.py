"""Patch-border error of the maps the nnU-Net trainers compute, on the hippocampus data.

The trainers compute each map from the augmented patch target (boundaryloss.nnunet);
a boundary outside the patch is invisible there. For nnU-Net's cropping (1/3 of the
patches centred on a foreground voxel, the rest uniform, background beyond the image) this
compares the patch's map with the same crop of the whole background-padded volume's map
(boundaryloss.nnunet.border), for the hippocampus 3d_fullres plan's patch (40, 56, 40:
larger than most volumes) and for smaller patches, as in datasets whose volumes are many
patches large. Reported: mean and max absolute map error (mm) on the foreground channels,
the fraction of voxels with an error above 1e-3 mm, the fraction the exactness bound
certifies, and the effect on the boundary loss and the RRW region-wise loss of a fixed
imperfect prediction (the label shifted by one voxel, with noise); RRW maps and the
region-wise loss on the foreground channels (the background's RRW map is normalised by
its deepest voxel, which depends on how far the background is taken to extend).

    python bench/nnunet_patch_border.py --data ../shared/data/hippocampus

writes bench/results/nnunet_patch_border.json and .md (a measurement, not a timing).
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import RESULTS_DIR, write_atomically, write_json  # noqa: E402
from boundaryloss.nnunet.border import (  # noqa: E402
    certified_exact,
    crop,
    patch_corner,
    patch_map_error,
)

PATCHES = ((40, 56, 40), (32, 32, 32), (24, 24, 24), (16, 16, 16))
NUM_CLASSES = 3
FOREGROUND = (1, 2)
TOLERANCE_MM = 1e-3


def _prediction(label: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Softmax probabilities ``(C, *shape)`` of an imperfect prediction of ``label``."""
    shifted = np.roll(label, 1, axis=0)
    logits = 3.0 * (shifted[None] == np.arange(NUM_CLASSES).reshape(-1, 1, 1, 1))
    logits = logits + rng.normal(0.0, 1.0, logits.shape)
    e = np.exp(logits - logits.max(0))
    return e / e.sum(0)


def measure(
    data: Path, patches_per_case: int, seed: int, limit: int | None, margins: list[int]
) -> dict:
    files = sorted((data / "labelsTr").glob("*.nii.gz"))[:limit]
    rows = {}
    for patch, margin in [(p, m) for m in margins for p in PATCHES]:
        rng = np.random.default_rng(seed)  # the same patches for every margin
        stats = {k: [] for k in ("abs", "changed", "certified", "rrw_abs", "bl", "bl_ref")}
        stats.update(rw=[], rw_ref=[])
        max_error = rrw_max = 0.0
        voxels = 0
        for path in files:
            image = nib.load(path)
            label = np.asarray(image.dataobj).astype(np.int64)
            spacing = tuple(float(z) for z in image.header.get_zooms()[:3])
            foreground = np.argwhere(label > 0)
            for i in range(patches_per_case):
                fg = foreground if i % 3 == 2 else None  # nnU-Net: 1/3 foreground patches
                corner = patch_corner(label.shape, patch, rng, fg)
                signed = patch_map_error(
                    label, corner, patch, "signed", NUM_CLASSES, spacing, FOREGROUND, margin
                )
                rrw = patch_map_error(
                    label, corner, patch, "rrw", NUM_CLASSES, spacing, FOREGROUND, margin
                )
                patch_label = crop(label, corner, patch)
                voxels += signed.abs_error.size
                stats["abs"].append(signed.abs_error.sum())
                stats["changed"].append(np.count_nonzero(signed.abs_error > TOLERANCE_MM))
                if margin == 0:
                    cert = certified_exact(signed.patch_map, spacing, patch_label, FOREGROUND)
                    assert np.all(signed.abs_error[cert] <= TOLERANCE_MM), "bound violated"
                    stats["certified"].append(np.count_nonzero(cert))
                max_error = max(max_error, float(signed.abs_error.max()))
                stats["rrw_abs"].append(rrw.abs_error.mean())
                rrw_max = max(rrw_max, float(rrw.abs_error.max()))
                probs = _prediction(patch_label, rng)
                fg_probs = probs[list(FOREGROUND)]
                stats["bl"].append(float((fg_probs * signed.patch_map).mean()))
                stats["bl_ref"].append(float((fg_probs * signed.reference).mean()))
                stats["rw"].append(float((fg_probs * rrw.patch_map).mean()))
                stats["rw_ref"].append(float((fg_probs * rrw.reference).mean()))
        bl, bl_ref = np.asarray(stats["bl"]), np.asarray(stats["bl_ref"])
        rw, rw_ref = np.asarray(stats["rw"]), np.asarray(stats["rw_ref"])
        key = "x".join(map(str, patch)) + (f" +{margin}" if margin else "")
        rows[key] = {
            "patch": list(patch),
            "map_margin": margin,
            "patches": len(bl),
            "signed_mean_abs_error_mm": float(np.sum(stats["abs"]) / voxels),
            "signed_max_abs_error_mm": max_error,
            "signed_fraction_changed": float(np.sum(stats["changed"]) / voxels),
            "signed_fraction_certified_exact": (
                float(np.sum(stats["certified"]) / voxels) if margin == 0 else None
            ),
            "boundary_loss_mean_abs_change": float(np.mean(np.abs(bl - bl_ref))),
            "boundary_loss_mean_abs_value": float(np.mean(np.abs(bl_ref))),
            "boundary_loss_max_relative_change": float(
                np.max(np.abs(bl - bl_ref) / np.maximum(np.abs(bl_ref), 1e-12))
            ),
            "rrw_mean_abs_error": float(np.mean(stats["rrw_abs"])),
            "rrw_max_abs_error": rrw_max,
            "region_wise_loss_mean_abs_change": float(np.mean(np.abs(rw - rw_ref))),
            "region_wise_loss_mean_abs_value": float(np.mean(np.abs(rw_ref))),
        }
        print(key, rows[key], flush=True)
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "data": str(data),
        "cases": len(files),
        "patches_per_case": patches_per_case,
        "seed": seed,
        "margins": margins,
        "tolerance_mm": TOLERANCE_MM,
        "patch_sizes": rows,
    }


def to_markdown(results: dict) -> str:
    lines = [
        "# Patch-border error of the nnU-Net trainers' maps (hippocampus)",
        "",
        f"{results['cases']} cases x {results['patches_per_case']} patches per patch size "
        f"(seed {results['seed']}); written by `python bench/nnunet_patch_border.py` on "
        f"{results['date']}. Signed maps: foreground channels, mm; 'changed' = error "
        f"> {results['tolerance_mm']} mm; loss changes for a fixed imperfect prediction.",
        "",
        "| patch (+ map margin) | mean abs err (mm) | max abs err (mm) | voxels changed "
        "| certified exact | boundary loss: mean abs change / mean abs value "
        "| RRW map mean abs err (fg) | region-wise loss (fg): mean abs change / mean abs value |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for patch, r in results["patch_sizes"].items():
        lines.append(
            f"| {patch} | {r['signed_mean_abs_error_mm']:.4g} | "
            f"{r['signed_max_abs_error_mm']:.4g} | {100 * r['signed_fraction_changed']:.3g} % | "
            f"{_percent(r['signed_fraction_certified_exact'])} | "
            f"{r['boundary_loss_mean_abs_change']:.3g} / {r['boundary_loss_mean_abs_value']:.3g} | "
            f"{r['rrw_mean_abs_error']:.3g} | "
            f"{r['region_wise_loss_mean_abs_change']:.3g} / "
            f"{r['region_wise_loss_mean_abs_value']:.3g} |"
        )
    return "\n".join(lines) + "\n"


def _percent(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.3g} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/hippocampus")
    parser.add_argument("--patches-per-case", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="first N cases only")
    parser.add_argument(
        "--margins", default="0,8,16", help="map margins (voxels) to measure, comma-separated"
    )
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "nnunet_patch_border.json")
    args = parser.parse_args()
    if not (args.data / "labelsTr").is_dir():
        parser.error(f"--data: no labelsTr folder in {args.data}")
    try:
        margins = [int(m) for m in args.margins.split(",")]
    except ValueError:
        parser.error(f"--margins: expected comma-separated integers, got {args.margins!r}")
    results = measure(args.data, args.patches_per_case, args.seed, args.limit, margins)
    write_json(args.output, results)
    write_atomically(args.output.with_suffix(".md"), to_markdown(results))
    print(to_markdown(results))


if __name__ == "__main__":
    main()
