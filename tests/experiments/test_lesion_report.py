"""``compare`` with ``report.lesion`` on a tiny IDRiD microaneurysm set (every other image
lesion-free, a field of view from the red channel): every number of the lesion screening
section, at the best checkpoint and at the last epoch, recomputed here from the runs'
own predictions: components by ``scipy.ndimage.label``, the AUPR by scikit-learn."""

from __future__ import annotations

import copy
import csv

import numpy as np
import pytest
import yaml
from scipy import ndimage
from sklearn.metrics import average_precision_score

from boundaryloss.data.splits import load_splits
from boundaryloss.evaluation.predict import Predictor
from boundaryloss.experiments import load_experiment, run_compare
from boundaryloss.experiments.results import validation_cases
from boundaryloss.training.run_dir import RunDirectory
from tests.data.layouts import write_idrid

from .conftest import TINY_BASE, tiny_experiment

IDS = tuple(f"IDRiD_{i:02d}" for i in range(1, 9))
SEEDS = 2


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """``(experiment, result)`` of a finished comparison: soft Dice against cross-entropy,
    two seeds, two epochs at a high learning rate (some runs segment, some collapse)."""
    root = tmp_path_factory.mktemp("lesion_report")
    data_root = root / "IDRiD"
    missing = tuple((case_id, "MA") for case_id in IDS[1::2])
    write_idrid(data_root, ids=IDS, lesions=("1. Microaneurysms/MA",), missing=missing)
    base = copy.deepcopy(TINY_BASE)
    base["data"] = {
        "source": "idrid",
        "root": str(data_root),
        "num_classes": 2,
        "idrid": {"lesion": "MA"},
        "val_fraction": 0.5,
        "batch_size": 2,
    }
    base["optim"] = {"lr": 0.05}
    data = tiny_experiment(output_dir=str(root), base=base, seeds=SEEDS, reference="dice")
    data["losses"] = [
        {"name": "dice", "loss": {"terms": [{"name": "dice"}]}},
        {"name": "ce", "loss": {"terms": [{"name": "ce"}]}},
    ]
    data["report"].update(lesion=True, overlay_cases=1)
    data["diagnostics"] = {"gradient_sign": False}
    path = root / "experiment.yaml"
    path.write_text(yaml.safe_dump(data))
    experiment = load_experiment(path)
    return experiment, run_compare(experiment, log=lambda line: None)


def _components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    return ndimage.label(mask, np.ones((3,) * mask.ndim, bool))  # 8 in 2D, 26 in 3D


def recount(experiment, checkpoint: str) -> dict:
    """Per (loss, seed): the run's ``checkpoint`` segments its validation cases again,
    inside each case's field of view; everything the section shows, counted here."""
    out = {}
    for spec in experiment.runs:
        run = RunDirectory(spec.run_dir)
        predictor = Predictor.from_checkpoint(run.checkpoint(checkpoint))
        cases = validation_cases(experiment, load_splits(run.splits)[0].val)
        scores, truth, lesions = [], [], []
        tp = fp = fn = empty = 0
        n_pred = n_true_pred = free = free_false = 0
        dice, dice_lesion = [], []
        for i in range(len(cases)):
            case = cases[i]
            probabilities = predictor.probabilities(case)
            fov = np.ones(case.spatial_shape, bool) if case.fov is None else case.fov
            pred = (probabilities.argmax(0) == 1) & fov
            ref = (np.asarray(case.label) == 1) & fov
            scores.append(probabilities[1][fov])
            truth.append(ref[fov])
            tp += int((pred & ref).sum())
            fp += int((pred & ~ref).sum())
            fn += int((~pred & ref).sum())
            empty += int(not pred.any())
            both = pred.sum() + ref.sum()
            value = 1.0 if both == 0 else 2 * (pred & ref).sum() / both
            dice.append(value)
            ref_labels, n_ref = _components(ref)
            pred_labels, n_p = _components(pred)
            for k in range(1, n_ref + 1):
                lesion = ref_labels == k
                lesions.append((case.case_id, k, int(lesion.sum()), bool((lesion & pred).any())))
            n_pred += n_p
            n_true_pred += sum(bool(((pred_labels == k) & ref).any()) for k in range(1, n_p + 1))
            if n_ref:
                dice_lesion.append(value)
            else:
                free += 1
                free_false += n_p
        found = sum(hit for *_, hit in lesions)
        every, truth_all = np.concatenate(scores), np.concatenate(truth)
        lesion_scores = every[truth_all]
        # the report's shares, thresholds at the histogram's bin edges: 0.01 -> 164/16384,
        # 0.99 -> 16221/16384
        low, high = 164 / 16384, 16221 / 16384
        recall = found / len(lesions)
        precision = n_true_pred / n_pred if n_pred else 0.0
        out[(spec.loss, spec.seed)] = {
            "aupr": average_precision_score(truth_all, every),
            "undecided": float(np.mean((every >= low) & (every < high))),
            "lesion_below": float(np.mean(lesion_scores < low)),
            "lesion_above_half": float(np.mean(lesion_scores >= 0.5)),
            "pooled_dice": 2 * tp / (2 * tp + fp + fn),
            "lesion_recall": recall,
            "lesion_precision": precision,
            "lesion_f1": 0.0
            if recall + precision == 0
            else 2 * recall * precision / (recall + precision),
            "false_lesions_per_free_case": free_false / free,
            "empty": empty,
            "dice": dice,
            "dice_lesion": dice_lesion,
            "lesions": lesions,
            "images": len(cases),
            "free": free,
            "predicted": n_pred,
            "true_predicted": n_true_pred,
        }
    return out


def _tertile_recall(lesions, edges) -> list[float]:
    """Recall in [e0, e1], (e1, e2], (e2, e3], written out."""
    out = []
    for i in range(3):
        inside = [
            hit
            for *_, size, hit in lesions
            if (edges[i] < size or (i == 0 and size == edges[0])) and size <= edges[i + 1]
        ]
        out.append(sum(inside) / len(inside) if inside else float("nan"))
    return out


@pytest.mark.parametrize("index", [0, 1], ids=["best", "last"])
def test_every_number_is_the_recount(compared, index):
    experiment, result = compared
    screening = result.screening[index]
    assert [s.checkpoint for s in result.screening] == ["best", "last"]
    expected = recount(experiment, screening.checkpoint)
    first = expected[("dice", 0)]
    assert screening.images == first["images"] and screening.free_images[1] == first["free"]
    assert 0 < first["free"] < first["images"]  # lesion-free images and lesion images
    keys = (
        "aupr",
        "pooled_dice",
        "lesion_recall",
        "lesion_precision",
        "lesion_f1",
        "false_lesions_per_free_case",
    )
    for loss in ("dice", "ce"):
        runs = [expected[(loss, seed)] for seed in range(SEEDS)]
        pooled = screening.pooled[(loss, 1)]
        for key in keys:
            assert pooled[key].values == pytest.approx([r[key] for r in runs], abs=1e-12), key
        assert screening.empty[loss].values == tuple(float(r["empty"]) for r in runs)
        every, lesion = screening.image_dice[(loss, 1)]
        assert every.mean == pytest.approx(np.mean([d for r in runs for d in r["dice"]]))
        assert lesion.mean == pytest.approx(np.mean([d for r in runs for d in r["dice_lesion"]]))
        assert lesion.n == SEEDS * (first["images"] - first["free"])
    # The size tertiles: edges from the reference lesions, the same for every loss.
    sizes = [size for *_, size, _ in first["lesions"]]
    edges = np.quantile(sizes, [0, 1 / 3, 2 / 3, 1])
    assert screening.size_edges[1] == pytest.approx(edges)
    for loss in ("dice", "ce"):
        per_seed = [_tertile_recall(expected[(loss, s)]["lesions"], edges) for s in range(SEEDS)]
        got = screening.size_recall[(loss, 1)]
        for i in range(3):
            assert got[i].values == pytest.approx([r[i] for r in per_seed], nan_ok=True)
    # The probability spread, from the recounted probabilities.
    for loss in ("dice", "ce"):
        runs = [expected[(loss, seed)] for seed in range(SEEDS)]
        for key in ("undecided", "lesion_below", "lesion_above_half"):
            got = screening.spread[(loss, 1)][key].values
            assert got == pytest.approx([r[key] for r in runs], abs=1e-12), key
    assert "lesion pixels with p < 0.01 (%)" in result.markdown.read_text()
    counts = [len([1 for *_, size, _ in first["lesions"] if size <= e]) for e in edges[1:]]
    assert screening.size_counts[1] == list(np.diff([0, *counts]))
    # Not all trivially zero: some run found lesions, some predicted nothing at all.
    values = [r for r in expected.values()]
    assert any(r["lesion_recall"] > 0 for r in values)
    assert any(r["empty"] == r["images"] for r in values)


def test_lesion_list_of_every_run_is_the_recount(compared):
    experiment, _ = compared
    expected = recount(experiment, "best")
    for spec in experiment.runs:
        folder = RunDirectory(spec.run_dir).evaluation
        with open(folder / "lesions.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        got = [
            (row["case"], int(row["lesion"]), int(row["voxels"]), row["matched"] == "1")
            for row in rows
            if row["source"] == "reference"
        ]
        mine = expected[(spec.loss, spec.seed)]
        assert sorted(got) == sorted(mine["lesions"])
        predicted = [row["matched"] == "1" for row in rows if row["source"] == "prediction"]
        assert len(predicted) == mine["predicted"] and sum(predicted) == mine["true_predicted"]
        assert all(row["size_unit"] == "pixels" for row in rows)  # IDRiD: spacing in px
        assert all(float(row["size"]) == int(row["voxels"]) for row in rows)


def test_the_report_opens_with_the_lesion_section(compared):
    _, result = compared
    md = result.markdown.read_text()
    page = result.html.read_text()
    best = "## Lesion screening at the best checkpoint ('best' checkpoint)"
    last = "## Lesion screening at the last epoch ('last' checkpoint)"
    assert md.index(best) < md.index(last) < md.index("## Results at the best checkpoint")
    screening = result.screening[0]
    n, m = screening.images, screening.lesion_images[1]
    for text in (md, page):
        assert f"Dice, mean over all {n} images" in text
        assert f"over the images whose reference contains the class (class 1: {m})" in text
        assert (
            "Pooled over all pixels (AUPR, pooled Dice) and all lesions (lesion scores) of "
            f"the {n} validation images of each run"
        ) in text
        assert "cannot give p below 2/2^2 = 0.5" in text
    for loss in ("dice", "ce"):
        values = screening.empty[loss].values
        if all(v == n for v in values):
            assert f"{loss}: an empty prediction (no foreground at all) on {n} / {n} of" in md
            assert f"{loss} ({SEEDS} of {SEEDS} seeds)" in md
    # Each seed's AUPR, as the pooled table writes it.
    aupr = screening.pooled[("dice", 1)]["aupr"]
    assert f"({aupr.values[0]:.3f}, {aupr.values[1]:.3f})" in md


def _per_image(experiment, checkpoint: str) -> dict:
    """Per (loss, seed), per validation image (in id order): its FOV probabilities and
    truth, its (tp, pred, ref) pixel counts and its (detected, reference, true predicted,
    predicted) lesion counts, recounted from the run's own predictions."""
    out = {}
    for spec in experiment.runs:
        run = RunDirectory(spec.run_dir)
        predictor = Predictor.from_checkpoint(run.checkpoint(checkpoint))
        cases = validation_cases(experiment, load_splits(run.splits)[0].val)
        images = []
        for case in sorted(cases, key=lambda c: c.case_id):
            probabilities = predictor.probabilities(case)
            fov = np.ones(case.spatial_shape, bool) if case.fov is None else case.fov
            pred = (probabilities.argmax(0) == 1) & fov
            ref = (np.asarray(case.label) == 1) & fov
            ref_labels, n_ref = _components(ref)
            pred_labels, n_pred = _components(pred)
            detected = sum(bool(((ref_labels == k) & pred).any()) for k in range(1, n_ref + 1))
            true_pred = sum(bool(((pred_labels == k) & ref).any()) for k in range(1, n_pred + 1))
            images.append(
                {
                    "scores": probabilities[1][fov],
                    "truth": ref[fov],
                    "pixels": np.array([(pred & ref).sum(), pred.sum(), ref.sum()], float),
                    "lesions": np.array([detected, n_ref, true_pred, n_pred], float),
                }
            )
        out[(spec.loss, spec.seed)] = images
    return out


def _pooled(key: str, images: list[dict]) -> float:
    if key == "aupr":  # the report's test ranks probabilities quantised to 1/16384
        scores = np.concatenate([i["scores"] for i in images])
        truth = np.concatenate([i["truth"] for i in images])
        return average_precision_score(truth, np.minimum((scores * 16384).astype(int), 16383))
    if key == "pooled_dice":
        tp, pred, ref = sum(i["pixels"] for i in images)
        return 2 * tp / (pred + ref) if pred + ref else 1.0
    detected, ref, true_pred, pred = sum(i["lesions"] for i in images)
    recall, precision = detected / ref, (true_pred / pred if pred else 0.0)
    return 0.0 if recall + precision == 0 else 2 * recall * precision / (recall + precision)


@pytest.mark.parametrize("index", [0, 1])
def test_image_pvalues_are_the_enumeration_of_swaps(compared, index):
    """p over images: every pattern of swapping an image's predictions (all seeds at
    once) between the two losses, the pooled scores' mean difference over seeds
    recomputed from the recounted images; p = share reaching the observed one."""
    import itertools

    experiment, result = compared
    screening = result.screening[index]
    images = _per_image(experiment, screening.checkpoint)
    n = len(images[("ce", 0)])
    for key in ("aupr", "pooled_dice", "lesion_f1"):

        def difference(swap, key=key):
            total = 0.0
            for seed in range(SEEDS):
                mine, theirs = images[("ce", seed)], images[("dice", seed)]
                x = [t if s else m for m, t, s in zip(mine, theirs, swap, strict=True)]
                y = [m if s else t for m, t, s in zip(mine, theirs, swap, strict=True)]
                total += _pooled(key, x) - _pooled(key, y)
            return total / SEEDS

        observed = abs(difference((False,) * n))
        null = [abs(difference(s)) for s in itertools.product((False, True), repeat=n)]
        expected = np.mean([v >= observed * (1 - 1e-9) - 1e-12 for v in null])
        got = screening.compared[("ce", 1)][key].image_pvalue
        assert got == pytest.approx(expected), key
    md = result.markdown.read_text()
    assert "over images p = " in md
