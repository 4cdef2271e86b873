"""``evaluate-folder`` on probability maps: the pooled AUPR against scikit-learn, the
label metrics of the argmax (or of the label map beside the probabilities), and the
one-line errors of mixed or malformed folders."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import average_precision_score

from boundaryloss.cli import main
from boundaryloss.data.io import write_nifti
from boundaryloss.evaluation.evaluate_folder import evaluate_folder
from boundaryloss.evaluation.probability_maps import write_probabilities
from boundaryloss.metrics import dice

SPACING = (0.9, 1.2, 2.5)


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err.strip()


def _save_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8)).save(path)


def _softmax(rng, ref: np.ndarray, classes: int) -> np.ndarray:
    """float32 probabilities ``(classes, *spatial)`` leaning towards ``ref``, with ties."""
    logits = rng.normal(size=(classes, *ref.shape)) + 1.5 * np.eye(classes)[ref].transpose(
        -1, *range(ref.ndim)
    )
    probabilities = np.exp(logits) / np.exp(logits).sum(0)
    return np.round(probabilities, 2).astype(np.float32)  # coarse: many tied scores


@pytest.fixture
def nifti_maps(tmp_path):
    """Two 3D cases of labels {0, 1, 2}: probability maps only, no label maps."""
    rng = np.random.default_rng(0)
    cases = {}
    for case_id, shape in (("a", (10, 9, 6)), ("b", (8, 11, 5))):
        ref = (rng.random(shape) < 0.1).astype(np.uint8) + (rng.random(shape) < 0.05)
        probabilities = _softmax(rng, ref, 3)
        write_nifti(tmp_path / "ref" / f"{case_id}.nii.gz", ref, spacing=SPACING)
        write_probabilities(
            tmp_path / "pred" / f"{case_id}.probabilities.nii.gz",
            probabilities,
            affine=np.diag([*SPACING, 1.0]),
        )
        cases[case_id] = (probabilities, ref)
    return tmp_path / "pred", tmp_path / "ref", cases


def test_nifti_maps_aupr_per_label_and_argmax_labels(nifti_maps, tmp_path, capsys):
    pred_dir, ref_dir, cases = nifti_maps
    out = tmp_path / "eval.csv"
    args = [str(pred_dir), str(ref_dir), "--labels", "1", "2", "--output", str(out)]
    assert main(["evaluate-folder", *args]) == 0
    printed = capsys.readouterr().out
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["probabilities"] is True
    for label in (1, 2):
        # scikit-learn on every voxel of both cases, one-vs-rest for the label.
        scores = np.concatenate([p[label].ravel() for p, _ in cases.values()])
        truth = np.concatenate([(r == label).ravel() for _, r in cases.values()])
        expected = average_precision_score(truth, scores)
        pooled = summary["pixel_level"][str(label)]
        assert pooled["aupr"] == pytest.approx(expected, rel=1e-12)
        assert f"  class {label}: dice" in printed and f"aupr {expected:.4f}" in printed
    # The label metrics score the argmax over the three classes.
    rows = {(r["case"], r["class"]): r for r in _csv(out)}
    for case_id, (probabilities, ref) in cases.items():
        labels = probabilities.argmax(0)
        per_class = dice(labels, ref, num_classes=3)
        for label in (1, 2):
            assert float(rows[(case_id, str(label))]["dice"]) == pytest.approx(per_class[label])


def _csv(path):
    import csv

    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def png_maps(tmp_path):
    """DRIVE-like 2D images: references, FOV masks, .npz probability maps and, beside
    them, label maps that are NOT their argmax (e.g. a post-processed segmentation)."""
    rng = np.random.default_rng(1)
    fov = np.zeros((12, 14), bool)
    fov[2:10, 1:12] = True
    cases = {}
    for number in (1, 2):
        ref = (rng.random(fov.shape) < 0.15).astype(np.uint8)
        probabilities = _softmax(rng, ref, 2)
        probabilities[:, ~fov] = np.array([0.0, 1.0], np.float32)[:, None]  # outside: ignored
        labels = ref.copy()  # a perfect label map: differs from the argmax
        _save_png(tmp_path / "ref" / f"{number:02d}_manual1.png", ref * 255)
        _save_png(tmp_path / "mask" / f"{number:02d}_mask.png", fov * 255)
        _save_png(tmp_path / "pred" / f"{number:02d}_test.png", labels)
        write_probabilities(
            tmp_path / "pred" / f"{number:02d}_test.probabilities.npz", probabilities
        )
        cases[f"{number:02d}"] = (probabilities, ref)
    return tmp_path / "pred", tmp_path / "ref", tmp_path / "mask", cases, fov


def test_npz_maps_inside_the_fov_beside_label_maps(png_maps):
    pred_dir, ref_dir, mask_dir, cases, fov = png_maps
    result = evaluate_folder(pred_dir, ref_dir, mask_dir=mask_dir, id_regex=r"^(\d+)_")
    scores = np.concatenate([p[1][fov] for p, _ in cases.values()])
    truth = np.concatenate([r[fov] == 1 for _, r in cases.values()])
    aupr = result.summary["pixel_level"][1]["aupr"]
    assert aupr == pytest.approx(average_precision_score(truth, scores), rel=1e-12)
    assert aupr < 1.0
    # The label maps beside the probabilities are scored, not the argmax: perfect.
    assert list(result.evaluator.values("dice", 1)) == [1.0, 1.0]
    assert [c.probabilities.name for c in result.cases] == [
        "01_test.probabilities.npz",
        "02_test.probabilities.npz",
    ]
    # Without the label maps the argmax is scored: foreground where p > 0.5.
    for path in pred_dir.glob("*_test.png"):
        path.unlink()
    argmax = evaluate_folder(pred_dir, ref_dir, mask_dir=mask_dir, id_regex=r"^(\d+)_")
    assert argmax.summary["pixel_level"][1]["aupr"] == aupr
    for (case_id, (probabilities, ref)), value in zip(
        cases.items(), argmax.evaluator.values("dice", 1), strict=True
    ):
        expected = dice((probabilities[1] > 0.5) & fov, ref.astype(bool) & fov)[1]
        assert value == pytest.approx(expected), case_id


def test_label_maps_only_report_no_aupr(png_maps):
    pred_dir, ref_dir, mask_dir, _, _ = png_maps
    for path in pred_dir.glob("*.npz"):
        path.unlink()
    result = evaluate_folder(pred_dir, ref_dir, mask_dir=mask_dir, id_regex=r"^(\d+)_")
    assert result.summary["probabilities"] is False
    assert "aupr" not in result.summary["pixel_level"][1]


def test_probability_maps_for_some_cases_only(png_maps, capsys):
    pred_dir, ref_dir, _, _, _ = png_maps
    (pred_dir / "02_test.probabilities.npz").unlink()
    args = ["evaluate-folder", str(pred_dir), str(ref_dir), "--id-regex", r"^(\d+)_"]
    assert main(args) == 1
    assert "probability maps for 1 case(s), none for case(s) 02" in _error(capsys)


def test_malformed_probability_maps_are_one_line_errors(png_maps, tmp_path, capsys):
    pred_dir, ref_dir, _, cases, _ = png_maps
    target = pred_dir / "01_test.probabilities.npz"
    args = ["evaluate-folder", str(pred_dir), str(ref_dir), "--id-regex", r"^(\d+)_"]
    probabilities = cases["01"][0]
    bad = {
        "not probabilities in [0, 1]": probabilities * 2,
        "at least 2 classes": probabilities[1:],
        "label 2 (--labels) has no channel": probabilities,
        "differs from the label map": probabilities[:, :-1],
    }
    for message, array in bad.items():
        write_probabilities(target, array)
        labels = ["--labels", "1", "2"] if "no channel" in message else []
        assert main([*args, *labels]) == 1
        error = _error(capsys)
        assert message in error and str(target) in error, error
    np.savez(target, scores=probabilities)
    assert main(args) == 1
    assert "no 'probabilities' array" in _error(capsys)
    for content in (b"not a zip", b""):
        target.write_bytes(content)
        assert main(args) == 1
        error = _error(capsys)
        assert "cannot read .npz file" in error and str(target) in error, error
    np.save(target.with_suffix(".npy"), probabilities)
    target.with_suffix(".npy").rename(target)  # one .npy array under an .npz name
    assert main(args) == 1
    assert "not an .npz archive" in _error(capsys)


def test_npz_maps_against_nifti_references_are_refused(nifti_maps, capsys):
    pred_dir, ref_dir, cases = nifti_maps
    for case_id, (probabilities, _) in cases.items():
        (pred_dir / f"{case_id}.probabilities.nii.gz").unlink()
        np.savez_compressed(pred_dir / f"{case_id}.probabilities.npz", probabilities=probabilities)
    with pytest.raises(ValueError, match="one of prediction and reference"):
        evaluate_folder(pred_dir, ref_dir, labels=(1, 2))


def test_a_shifted_nifti_map_is_refused(nifti_maps):
    pred_dir, ref_dir, cases = nifti_maps
    probabilities = cases["a"][0]
    shifted = np.diag([*SPACING, 1.0])
    shifted[:3, 3] = (5.0, 0.0, 0.0)
    write_probabilities(pred_dir / "a.probabilities.nii.gz", probabilities, affine=shifted)
    with pytest.raises(ValueError, match=r"a\.probabilities\.nii\.gz"):
        evaluate_folder(pred_dir, ref_dir, labels=(1, 2))


def test_workers_pool_the_probabilities_as_one_process(nifti_maps, tmp_path):
    """Cases scored in worker processes bring their pixels back: the pooled AUPR of two
    workers is scikit-learn's on every voxel, as with one."""
    pred_dir, ref_dir, cases = nifti_maps
    one = evaluate_folder(pred_dir, ref_dir, labels=(1, 2), workers=1).summary
    two = evaluate_folder(pred_dir, ref_dir, labels=(1, 2), workers=2).summary
    for label in (1, 2):
        scores = np.concatenate([p[label].ravel() for p, _ in cases.values()])
        truth = np.concatenate([(r == label).ravel() for _, r in cases.values()])
        expected = average_precision_score(truth, scores)
        assert two["pixel_level"][label]["aupr"] == pytest.approx(expected, rel=1e-12)
        assert one["pixel_level"][label]["aupr"] == two["pixel_level"][label]["aupr"]
