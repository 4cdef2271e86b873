"""``boundaryloss evaluate-folder``: NIfTI with spacing, PNG/GIF with FOV masks, case
matching, one-line errors, output safety."""

from __future__ import annotations

import csv
import json
import math
import os
import stat

import numpy as np
import pytest
from PIL import Image

from boundaryloss.cli import main
from boundaryloss.data.fov import restrict_case_to_fov
from boundaryloss.data.io import write_nifti
from boundaryloss.evaluation import evaluate_folder as evaluate_folder_module
from boundaryloss.evaluation.evaluate_folder import evaluate_folder, match_cases
from tests.metrics.reference import ball, monai_hd

SPACING = (0.9, 1.2, 2.5)
SHAPE = (16, 18, 12)


def _rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err.strip()


@pytest.fixture
def nifti_folders(tmp_path):
    """Two 3D cases with anisotropic spacing; the prediction of case b is named like an
    nnU-Net channel file (``b_0000``)."""
    pred_dir, ref_dir = tmp_path / "pred", tmp_path / "ref"
    cases = {}
    ref_a = ball(SHAPE, (8, 9, 6), 5, SPACING).astype(np.uint8)
    pred_a = ball(SHAPE, (9, 9, 6), 5, SPACING).astype(np.uint8)
    ref_b = np.zeros(SHAPE, np.uint8)
    ref_b[2:4, 2:4, 2:4] = 1  # two lesions
    ref_b[10:12, 10:14, 6:9] = 1
    pred_b = np.zeros(SHAPE, np.uint8)
    pred_b[10:12, 10:13, 6:9] = 1  # finds the second only
    pred_b[14, 1, 1] = 1  # plus a false one
    cases["a"] = (pred_a, ref_a)
    cases["b"] = (pred_b, ref_b)
    write_nifti(pred_dir / "a.nii.gz", pred_a, spacing=SPACING)
    write_nifti(ref_dir / "a.nii.gz", ref_a, spacing=SPACING)
    write_nifti(pred_dir / "b_0000.nii.gz", pred_b, spacing=SPACING)
    write_nifti(ref_dir / "b.nii", ref_b, spacing=SPACING)
    (pred_dir / "plans.json").write_text("{}")  # not an image: ignored
    return pred_dir, ref_dir, cases


def test_nifti_with_spacing_and_lesion_metrics(nifti_folders, tmp_path, capsys):
    pred_dir, ref_dir, cases = nifti_folders
    out = tmp_path / "results" / "eval.csv"
    old = os.umask(0o027)
    try:
        code = main(
            ["evaluate-folder", str(pred_dir), str(ref_dir), "--output", str(out), "--lesion"]
        )
    finally:
        os.umask(old)
    assert code == 0
    printed = capsys.readouterr().out
    assert "2 cases; no FOV mask; spacing from the NIfTI headers (mm); avd_ml in ml" in printed
    rows = {row["case"]: row for row in _rows(out)}
    assert set(rows) == {"a", "b"}
    voxel_ml = math.prod(SPACING) / 1000
    for case_id, (pred, ref) in cases.items():
        row = rows[case_id]
        # HD95 in mm from the header spacing, as MONAI computes it.
        assert float(row["hd95"]) == pytest.approx(monai_hd(pred, ref, SPACING, 95), rel=1e-6)
        tp = np.count_nonzero(pred & ref)
        assert float(row["dice"]) == pytest.approx(2 * tp / (pred.sum() + ref.sum()))
        volume = abs(int(pred.sum()) - int(ref.sum())) * voxel_ml
        assert float(row["avd_ml"]) == pytest.approx(volume)
    # Case b: reference lesions 2, predicted 2; detected 1, true predicted 1.
    assert rows["b"]["lesions_ref"] == "2"
    assert float(rows["b"]["lesion_recall"]) == pytest.approx(0.5)
    assert float(rows["b"]["lesion_precision"]) == pytest.approx(0.5)
    assert float(rows["b"]["lesion_f1"]) == pytest.approx(0.5)
    # 8 + 24 reference voxels, 18 + 1 predicted
    assert float(rows["b"]["avd_percent"]) == pytest.approx(100 * (32 - 19) / 32)
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["fov"] == {"applied": False, "num_cases": 0}
    assert summary["num_cases"] == 2
    assert summary["lesion"]["f1"] == "wmh"
    assert summary["volume_difference"] == "avd_ml"  # NIfTI: a physical volume
    assert "avd_voxels" not in rows["a"]
    dices = [float(rows[c]["dice"]) for c in ("a", "b")]
    assert summary["metrics"]["dice"]["1"]["mean"] == pytest.approx(np.mean(dices))
    for path in (out, out.with_suffix(".json")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in pred_dir.iterdir()) == ["a.nii.gz", "b_0000.nii.gz", "plans.json"]


def _save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8)).save(path)


@pytest.fixture
def png_folders(tmp_path):
    """DRIVE-like names: ``NN_test.png`` predictions, ``NN_manual1.gif`` references
    ({0, 255}), ``NN_test_mask.gif`` fields of view."""
    fov = np.zeros((6, 8), bool)
    fov[1:5, 1:7] = True  # 24 pixels
    ref1 = np.zeros((6, 8), np.uint8)
    ref1[2, 1:7] = 255  # 6 vessel pixels
    pred1 = np.zeros((6, 8), np.uint8)
    pred1[2, 1:5] = 255  # 4 true
    pred1[0, :] = 255  # 8 false positives outside the FOV: must not count
    pred1[4, 6] = 255  # 1 false positive inside
    ref2 = np.zeros((6, 8), np.uint8)
    ref2[1:5, 3] = 255  # 4 pixels
    pred2 = ref2.copy()  # perfect
    for number, (pred, ref) in {1: (pred1, ref1), 2: (pred2, ref2)}.items():
        _save(tmp_path / "pred" / f"{number:02d}_test.png", pred)
        _save(tmp_path / "manual" / f"{number:02d}_manual1.gif", ref)
        _save(tmp_path / "mask" / f"{number:02d}_test_mask.gif", fov * 255)
    return tmp_path / "pred", tmp_path / "manual", tmp_path / "mask"


def test_png_with_fov_masks(png_folders, tmp_path, capsys):
    pred_dir, ref_dir, mask_dir = png_folders
    out = tmp_path / "out.csv"
    args = [str(pred_dir), str(ref_dir), "--mask-dir", str(mask_dir), "--id-regex", r"^(\d+)_"]
    assert main(["evaluate-folder", *args, "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"field of view from {mask_dir}" in printed
    assert "distances in pixels" in printed
    rows = {row["case"]: row for row in _rows(out)}
    # Image 1 inside the FOV: TP 4, |P| 5, |R| 6.
    assert float(rows["01"]["dice"]) == pytest.approx(8 / 11)
    assert float(rows["01"]["precision"]) == pytest.approx(4 / 5)
    assert float(rows["02"]["dice"]) == 1.0
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["fov"] == {"applied": True, "num_cases": 2}
    # Per image: mean of 8/11 and 1. Pixel level: TP 8, |P| 9, |R| 10 pooled.
    assert summary["metrics"]["dice"]["1"]["mean"] == pytest.approx((8 / 11 + 1) / 2)
    low, high = (summary["metrics"]["dice"]["1"][k] for k in ("ci_low", "ci_high"))
    assert 8 / 11 <= low <= high <= 1.0  # bootstrap of two values stays between them
    pooled = summary["pixel_level"]["1"]
    assert pooled["dice"] == pytest.approx(16 / 19)
    assert pooled["precision"] == pytest.approx(8 / 9)
    assert pooled["recall"] == pytest.approx(8 / 10)
    assert (pooled["tp"], pooled["fp"], pooled["fn"], pooled["tn"]) == (8, 1, 2, 37)
    # Specificity and accuracy count true negatives inside the FOV only: image 1 has
    # 24 - 6 - 1 = 17 of them (spec. 17/18, acc. 21/24), image 2 20 (both 1).
    assert float(rows["01"]["specificity"]) == pytest.approx(17 / 18)
    assert float(rows["01"]["accuracy"]) == pytest.approx(21 / 24)
    assert summary["metrics"]["specificity"]["1"]["mean"] == pytest.approx((17 / 18 + 1) / 2)
    assert pooled["specificity"] == pytest.approx(37 / 38)
    assert pooled["accuracy"] == pytest.approx(45 / 48)
    # Without the FOV the 8 outside pixels are false positives.
    plain = evaluate_folder(pred_dir, ref_dir, id_regex=r"^(\d+)_")
    assert plain.summary["fov"]["applied"] is False
    assert plain.evaluator.values("precision", 1)[0] == pytest.approx(4 / 13)
    assert plain.evaluator.values("specificity", 1)[0] == pytest.approx(33 / 42)


def test_fov_is_applied_by_restrict_case_to_fov(png_folders, monkeypatch):
    """The field of view is applied by the rule ``evaluate`` and validation use, and the
    scores are those of the arrays that rule returns."""
    pred_dir, ref_dir, mask_dir = png_folders
    calls = []

    def spy(prediction, reference, fov, case_id, **kwargs):
        restricted = restrict_case_to_fov(prediction, reference, fov, case_id, **kwargs)
        calls.append((case_id, fov, restricted))
        return restricted

    monkeypatch.setattr(evaluate_folder_module, "restrict_case_to_fov", spy)
    result = evaluate_folder(pred_dir, ref_dir, mask_dir=mask_dir, id_regex=r"^(\d+)_")
    assert [case_id for case_id, _, _ in calls] == ["01", "02"]
    for index, (case_id, fov, (pred, ref)) in enumerate(calls):
        mask = np.asarray(Image.open(mask_dir / f"{case_id}_test_mask.gif")) != 0
        np.testing.assert_array_equal(fov, mask)
        pred_file = np.asarray(Image.open(pred_dir / f"{case_id}_test.png")) == 255
        np.testing.assert_array_equal(pred, pred_file & mask)
        assert not ref[~mask].any()
        tp = np.count_nonzero((pred == 1) & (ref == 1))
        dice = 2 * tp / (np.count_nonzero(pred == 1) + np.count_nonzero(ref == 1))
        assert result.evaluator.values("dice", 1)[index] == pytest.approx(dice)
        assert result.evaluator.values("precision", 1)[index] == pytest.approx(
            tp / np.count_nonzero(pred == 1)
        )


def test_png_lesion_metrics_in_2d(png_folders, tmp_path, capsys):
    pred_dir, ref_dir, mask_dir = png_folders
    result = evaluate_folder(pred_dir, ref_dir, mask_dir=mask_dir, id_regex=r"^(\d+)_", lesion=True)
    # 2D images have no physical pixel size: the volume difference is a pixel count.
    assert "avd_ml" not in result.evaluator.metrics
    assert result.summary["volume_difference"] == "avd_voxels"
    for index, number in enumerate(("01", "02")):
        fov = np.asarray(Image.open(mask_dir / f"{number}_test_mask.gif")) != 0
        pred = np.asarray(Image.open(pred_dir / f"{number}_test.png")) == 255
        ref = np.asarray(Image.open(ref_dir / f"{number}_manual1.gif")) != 0
        expected = abs(int((pred & fov).sum()) - int((ref & fov).sum()))
        assert result.evaluator.values("avd_voxels", 1)[index] == expected
    assert list(result.evaluator.values("avd_voxels", 1)) == [1.0, 0.0]  # 5 vs 6 pixels; perfect
    # Image 1: one reference segment, predicted segment + one spurious pixel (8-connected
    # to nothing): recall 1, precision 1/2.
    assert result.evaluator.values("lesion_precision", 1)[0] == pytest.approx(0.5)
    assert result.evaluator.values("lesion_recall", 1)[0] == 1.0
    args = [str(pred_dir), str(ref_dir), "--mask-dir", str(mask_dir), "--id-regex", r"^(\d+)_"]
    assert main(["evaluate-folder", *args, "--lesion"]) == 0
    assert "distances in pixels; avd_voxels in voxels" in capsys.readouterr().out


def test_help_gives_the_nsd_tolerance_in_mm_or_pixels(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate-folder", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "NSD tolerance for 'nsd', in the unit of the distances: mm for NIfTI files, " in text
    assert "pixels for 2D images" in text
    assert "tolerance (mm)" not in text


def test_unmatched_ids_are_listed(nifti_folders, tmp_path, capsys):
    pred_dir, ref_dir, _ = nifti_folders
    write_nifti(ref_dir / "c.nii.gz", np.zeros(SHAPE, np.uint8), spacing=SPACING)
    write_nifti(pred_dir / "zz.nii.gz", np.zeros(SHAPE, np.uint8), spacing=SPACING)
    out = tmp_path / "x.csv"
    assert main(["evaluate-folder", str(pred_dir), str(ref_dir), "--output", str(out)]) == 1
    err = _error(capsys)
    assert f"no reference in {ref_dir} for case(s) zz" in err
    assert f"no prediction in {pred_dir} for case(s) c" in err
    assert not out.exists()


def test_channel_suffix_only_when_unambiguous(tmp_path):
    for name in ("p/a_0000.png", "p/a_0001.png", "r/a.png"):
        _save(tmp_path / name, np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"no reference .* a_0000, a_0001"):
        match_cases(tmp_path / "p", tmp_path / "r")


def test_spacing_mismatch_names_the_file(nifti_folders, capsys):
    pred_dir, ref_dir, cases = nifti_folders
    write_nifti(pred_dir / "a.nii.gz", cases["a"][0], spacing=(0.9, 1.2, 3.0))
    assert main(["evaluate-folder", str(pred_dir), str(ref_dir)]) == 1
    err = _error(capsys)
    assert f"{pred_dir / 'a.nii.gz'}: spacing (0.9, 1.2, 3.0) differs from the reference" in err


def test_shape_mismatch_and_bad_values(nifti_folders, capsys):
    pred_dir, ref_dir, cases = nifti_folders
    write_nifti(pred_dir / "a.nii.gz", cases["a"][0][:-1], spacing=SPACING)
    assert main(["evaluate-folder", str(pred_dir), str(ref_dir)]) == 1
    assert "a.nii.gz: shape (15, 18, 12) differs from the reference" in _error(capsys)
    write_nifti(pred_dir / "a.nii.gz", cases["a"][0] * 3, spacing=SPACING)
    assert main(["evaluate-folder", str(pred_dir), str(ref_dir)]) == 1
    assert "a.nii.gz: label value(s) 3 not in [1] (--labels)" in _error(capsys)
    write_nifti(pred_dir / "a.nii.gz", cases["a"][0] * 0.7, spacing=SPACING)
    assert main(["evaluate-folder", str(pred_dir), str(ref_dir)]) == 1
    assert "non-integer values" in _error(capsys)


def test_output_that_is_an_input_is_refused(nifti_folders, capsys):
    pred_dir, ref_dir, _ = nifti_folders
    target = ref_dir / "a.nii.gz"
    before = target.read_bytes()
    assert main(["evaluate-folder", str(pred_dir), str(ref_dir), "--output", str(target)]) == 1
    assert "is one of the inputs" in _error(capsys)
    assert target.read_bytes() == before
    assert main(["evaluate-folder", str(pred_dir), str(ref_dir), "--output", str(ref_dir)]) == 1
    assert "is one of the inputs" in _error(capsys)
    assert main(["evaluate-folder", str(pred_dir), str(ref_dir), "--output", "x.txt"]) == 1
    assert "expected a .csv file name" in _error(capsys)


def test_a_summary_it_did_not_write_is_refused(nifti_folders, tmp_path, capsys):
    pred_dir, ref_dir, _ = nifti_folders
    out = tmp_path / "results.csv"
    args = ["evaluate-folder", str(pred_dir), str(ref_dir), "--output", str(out)]
    mine = tmp_path / "results.json"
    for foreign in ('{"my": "notes"}', "not json", "[1, 2]"):
        mine.write_text(foreign)
        assert main(args) == 1
        assert _error(capsys) == (
            f"boundaryloss evaluate-folder: error: --output: {mine} exists and was not "
            "written by evaluate-folder; the summary would replace it. Choose another "
            "--output name or move that file"
        )
        assert mine.read_text() == foreign and not out.exists()
    mine.unlink()
    assert main(args) == 0  # its own summary: written, then replaced by a rerun
    assert json.loads(mine.read_text())["written_by"] == "boundaryloss evaluate-folder"
    assert main(args) == 0
    # A summary of the versions before the mark is recognised by its keys (of that time).
    current = json.loads(mine.read_text())
    kept = ("pred_dir", "ref_dir", "mask_dir", "labels", "num_cases", "metrics")
    older = {**{key: current[key] for key in kept}, "fov_applied": False}
    mine.write_text(json.dumps(older))
    assert main(args) == 0 and "written_by" in json.loads(mine.read_text())


def test_a_csv_it_did_not_write_is_refused(nifti_folders, tmp_path, capsys):
    """The per-case CSV is replaced only when it is the one evaluate-folder wrote beside
    its summary, with the content the summary records."""
    pred_dir, ref_dir, _ = nifti_folders
    out = tmp_path / "results.csv"
    args = ["evaluate-folder", str(pred_dir), str(ref_dir), "--output", str(out)]
    refusal = (
        f"boundaryloss evaluate-folder: error: --output: {out} exists and is not the "
        "per-case CSV evaluate-folder wrote there (or it was changed since); choose another "
        "--output name or move that file"
    )
    out.write_text("subject,my score\n1,0.5\n")  # the user's own table, no summary
    assert main(args) == 1 and _error(capsys) == refusal
    assert out.read_text() == "subject,my score\n1,0.5\n"
    assert not out.with_suffix(".json").exists()

    out.unlink()
    assert main(args) == 0  # written; a rerun replaces its own pair
    assert main(args) == 0
    capsys.readouterr()
    ours = out.read_text()
    out.write_text(ours + "extra,row\n")  # edited since: the user's now
    assert main(args) == 1 and _error(capsys) == refusal
    assert out.read_text() == ours + "extra,row\n"

    # A summary of the versions before the checksum vouches for the CSV beside it.
    out.write_text(ours)
    summary = out.with_suffix(".json")
    older = json.loads(summary.read_text())
    del older["cases"]
    summary.write_text(json.dumps(older))
    assert main(args) == 0
    # ... but not for a CSV of another name.
    other = tmp_path / "other.csv"
    other.write_text(ours)
    summary_other = other.with_suffix(".json")
    summary_other.write_text(summary.read_text())  # records results.csv
    assert main([*args[:-1], str(other)]) == 1


def test_ignore_label_leaves_voxels_out(tmp_path):
    ref = np.zeros((4, 6), np.uint8)
    ref[1, 1:3] = 1
    ref[2, 4:6] = 2  # other pathology
    pred = np.zeros_like(ref)
    pred[1, 1:3] = 1
    pred[2, 4:6] = 1  # predicted on the ignored region: not a false positive
    _save(tmp_path / "p" / "c.png", pred)
    _save(tmp_path / "r" / "c.png", ref)
    result = evaluate_folder(tmp_path / "p", tmp_path / "r", ignore_label=2, lesion=True)
    assert result.evaluator.values("dice", 1)[0] == 1.0
    assert result.evaluator.values("lesion_precision", 1)[0] == 1.0
    with pytest.raises(ValueError, match=r"label value\(s\) 2 not in \[1\]"):
        evaluate_folder(tmp_path / "p", tmp_path / "r")


def test_missing_folder_and_options(tmp_path, capsys):
    assert main(["evaluate-folder", str(tmp_path / "nope"), str(tmp_path)]) == 1
    assert "PRED_DIR: not a directory" in _error(capsys)
    (tmp_path / "empty").mkdir()
    assert main(["evaluate-folder", str(tmp_path / "empty"), str(tmp_path)]) == 1
    assert "PRED_DIR: no NIfTI or image files" in _error(capsys)
    assert main(["evaluate-folder", str(tmp_path), str(tmp_path), "--connectivity", "6"]) == 1
    assert "--connectivity: only used with --lesion" in _error(capsys)


def test_flipped_orientation_is_refused(nifti_folders, capsys):
    pred_dir, ref_dir, cases = nifti_folders
    flipped = np.diag([-SPACING[0], SPACING[1], SPACING[2], 1.0])
    write_nifti(pred_dir / "a.nii.gz", cases["a"][0], affine=flipped)
    assert main(["evaluate-folder", str(pred_dir), str(ref_dir)]) == 1
    assert "a.nii.gz: voxel axes point in other directions" in _error(capsys)


def test_shifted_origin_is_refused(nifti_folders, capsys):
    """Same shape, spacing and axes, but 3 mm elsewhere: the voxels are other anatomy."""
    pred_dir, ref_dir, cases = nifti_folders
    shifted = np.diag([*SPACING, 1.0])
    shifted[:3, 3] = (0.0, 3.0, 0.0)
    write_nifti(pred_dir / "a.nii.gz", cases["a"][0], affine=shifted)
    assert main(["evaluate-folder", str(pred_dir), str(ref_dir)]) == 1
    err = _error(capsys)
    assert f"{pred_dir / 'a.nii.gz'}: origin (0.0, 3.0, 0.0) mm differs from the reference " in err
    assert f"{ref_dir / 'a.nii.gz'} (0.0, 0.0, 0.0) mm" in err
    float_noise = shifted.copy()
    float_noise[:3, 3] = (2e-4, -3e-4, 0.0)
    write_nifti(pred_dir / "a.nii.gz", cases["a"][0], affine=float_noise)
    assert main(["evaluate-folder", str(pred_dir), str(ref_dir)]) == 0


def test_a_nifti_mask_elsewhere_is_refused(nifti_folders, tmp_path, capsys):
    pred_dir, ref_dir, _ = nifti_folders
    mask_dir = tmp_path / "mask"
    moved = np.diag([*SPACING, 1.0])
    moved[:3, 3] = (-4.0, 0.0, 0.0)
    write_nifti(mask_dir / "a.nii.gz", np.ones(SHAPE, np.uint8), spacing=SPACING)
    write_nifti(mask_dir / "b.nii.gz", np.ones(SHAPE, np.uint8), affine=moved)
    assert main(["evaluate-folder", str(pred_dir), str(ref_dir), "--mask-dir", str(mask_dir)]) == 1
    assert f"{mask_dir / 'b.nii.gz'}: origin (-4.0, 0.0, 0.0) mm differs" in capsys.readouterr().err


def test_lesion_options_need_lesion(tmp_path, capsys):
    assert main(["evaluate-folder", str(tmp_path), str(tmp_path), "--lesion-f1", "isles"]) == 1
    assert "--lesion-f1: only used with --lesion" in _error(capsys)


def test_an_empty_mask_names_the_files(png_folders, capsys):
    pred_dir, ref_dir, mask_dir = png_folders
    _save(mask_dir / "02_test_mask.gif", np.zeros((6, 8)))
    args = [str(pred_dir), str(ref_dir), "--mask-dir", str(mask_dir), "--id-regex", r"^(\d+)_"]
    assert main(["evaluate-folder", *args]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[:-1] == ["[1/2] 01"]  # progress of the first case, then one error line
    assert f"field-of-view mask of the prediction {pred_dir / '02_test.png'} is empty" in err[-1]


def test_the_references_as_predictions_are_refused(nifti_folders, tmp_path, capsys):
    _, ref_dir, _ = nifti_folders
    assert main(["evaluate-folder", str(ref_dir), str(ref_dir)]) == 1
    assert _error(capsys) == (
        f"boundaryloss evaluate-folder: error: PRED_DIR {ref_dir} and REF_DIR {ref_dir} are "
        "the same folder: every case would score perfect; give the folder of the predictions"
    )
    link = tmp_path / "link"
    link.symlink_to(ref_dir, target_is_directory=True)
    assert main(["evaluate-folder", str(link), str(ref_dir)]) == 1
    assert "are the same folder" in _error(capsys)
    links = tmp_path / "links"  # a folder of links to the reference files
    links.mkdir()
    (links / "a.nii.gz").symlink_to(ref_dir / "a.nii.gz")
    (links / "b.nii").symlink_to(ref_dir / "b.nii")
    assert main(["evaluate-folder", str(links), str(ref_dir)]) == 1
    assert f"{links / 'a.nii.gz'}: is the reference {ref_dir / 'a.nii.gz'} itself" in _error(capsys)


def test_no_reference_lesion_is_lesion_recall_1_as_the_wmh_code(tmp_path):
    ref = np.zeros((12, 12, 6), np.uint8)
    pred = ref.copy()
    pred[3:6, 3:6, 2:4] = 1  # one false lesion
    write_nifti(tmp_path / "p" / "a.nii.gz", pred)
    write_nifti(tmp_path / "r" / "a.nii.gz", ref)
    out = tmp_path / "scores.csv"
    args = [str(tmp_path / "p"), str(tmp_path / "r"), "--lesion", "--output", str(out)]
    assert main(["evaluate-folder", *args]) == 0
    (row,) = _rows(out)
    # WMH 2017 getLesionDetection: nWMH == 0 -> recall 1.0; precision 0/1; F1 0.
    scores = (row["lesion_recall"], row["lesion_precision"], row["lesion_f1"])
    assert scores == ("1.0", "0.0", "0.0")


def _many_cases(root, count: int = 7):
    """``count`` 3D cases of varied overlap, one with a missed lesion."""
    rng = np.random.default_rng(3)
    for index in range(count):
        ref = np.zeros((14, 12, 8), np.uint8)
        start = rng.integers(1, 5, size=3)
        ref[start[0] : start[0] + 6, start[1] : start[1] + 5, start[2] : start[2] + 3] = 1
        ref[11, 10, 6] = 1  # a one-voxel lesion
        pred = np.roll(ref, int(rng.integers(0, 3)), axis=int(rng.integers(0, 3)))
        pred[11, 10, 6] = index % 2  # found in every other case
        write_nifti(root / "pred" / f"c{index}.nii.gz", pred, spacing=SPACING)
        write_nifti(root / "ref" / f"c{index}.nii.gz", ref, spacing=SPACING)
    return root / "pred", root / "ref"


def test_workers_give_the_results_of_one_worker_in_case_order(tmp_path):
    pred_dir, ref_dir = _many_cases(tmp_path)
    results, lines = {}, {}
    for workers in (1, 3):
        lines[workers] = []
        results[workers] = evaluate_folder(
            pred_dir,
            ref_dir,
            metrics=("dice", "hd95", "assd"),
            lesion=True,
            output=tmp_path / f"w{workers}.csv",
            workers=workers,
            progress=lines[workers].append,
        )
    one, many = results[1], results[3]
    assert (tmp_path / "w1.csv").read_bytes() == (tmp_path / "w3.csv").read_bytes()
    assert [row["case"] for row in many.evaluator.rows()] == [f"c{i}" for i in range(7)]
    assert lines[1] == lines[3] == [f"[{i + 1}/7] c{i}" for i in range(7)]
    assert one.summary.pop("cases")["sha256"] == many.summary.pop("cases")["sha256"]
    assert json.dumps(one.summary) == json.dumps(many.summary)


def test_workers_report_the_first_error_in_case_order(tmp_path, capsys):
    pred_dir, ref_dir = _many_cases(tmp_path)
    bad = np.zeros((14, 12, 8), np.uint8)
    bad[0, 0, 0] = 3  # not a label
    write_nifti(pred_dir / "c2.nii.gz", bad, spacing=SPACING)
    write_nifti(pred_dir / "c5.nii.gz", np.zeros((5, 5, 5), np.uint8), spacing=SPACING)
    errors = []
    for workers in ("1", "4"):
        assert main(["evaluate-folder", str(pred_dir), str(ref_dir), "--workers", workers]) == 1
        errors.append(capsys.readouterr().err.strip().splitlines())
    assert errors[0] == errors[1]
    first_bad = pred_dir / "c2.nii.gz"
    assert errors[0][-1].startswith(f"boundaryloss evaluate-folder: error: {first_bad}")
    assert main(["evaluate-folder", str(pred_dir), str(ref_dir), "--workers", "0"]) == 1
    assert "--workers: expected a number of processes >= 1, got 0" in _error(capsys)


def test_a_rerun_killed_between_the_renames_can_be_rerun(nifti_folders, tmp_path, monkeypatch):
    """A rerun killed after renaming its summary, before its CSV, leaves the CSV the
    summary replaced: the next run recognises it as its own and replaces the pair."""
    pred_dir, ref_dir, _ = nifti_folders
    out = tmp_path / "results.csv"
    args = ["evaluate-folder", str(pred_dir), str(ref_dir), "--output", str(out)]
    assert main(args) == 0
    ours = out.read_text()
    real, renamed = os.replace, []

    def replace(src, dst):
        if renamed:
            raise KeyboardInterrupt  # the second rename: the process dies
        renamed.append(dst)
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    assert main([*args, "--metrics", "dice"]) != 0  # "interrupted"
    monkeypatch.undo()
    assert renamed == [out.with_suffix(".json")] and out.read_text() == ours
    assert json.loads(out.with_suffix(".json").read_text())["metrics"].keys() == {"dice"}
    assert main(args) == 0
    assert out.read_text() == ours


def test_lesion_screening_block_counted_by_hand(png_folders, capsys):
    """evaluate-folder --lesion reports what evaluate does for screening: lesions pooled
    over the images, false lesions per lesion-free image, Dice over the images with
    lesions; the same with worker processes."""
    pred_dir, ref_dir, mask_dir = png_folders
    free_pred = np.zeros((6, 8), np.uint8)
    free_pred[3, 2] = free_pred[1, 5] = 255  # two false lesions inside the FOV
    _save(pred_dir / "03_test.png", free_pred)
    _save(ref_dir / "03_manual1.gif", np.zeros((6, 8), np.uint8))  # lesion-free
    fov = np.zeros((6, 8), np.uint8)
    fov[1:5, 1:7] = 255
    _save(mask_dir / "03_test_mask.gif", fov)
    kwargs = dict(mask_dir=mask_dir, id_regex=r"^(\d+)_", lesion=True)
    for workers in (1, 2):
        screening = evaluate_folder(pred_dir, ref_dir, workers=workers, **kwargs).summary[
            "screening"
        ][1]
        # Image 1: its one reference segment found, 2 predicted lesions (1 true); image 2:
        # perfect; image 3: no reference lesion, 2 predicted.
        assert screening["reference_lesions"] == 2 and screening["detected_lesions"] == 2
        assert screening["predicted_lesions"] == 5 and screening["true_predicted_lesions"] == 2
        assert screening["lesion_recall"] == 1.0
        assert screening["lesion_precision"] == pytest.approx(2 / 5)
        assert screening["lesion_f1"] == pytest.approx(2 * (2 / 5) / (1 + 2 / 5))
        assert screening["lesion_free_cases"] == 1
        assert screening["false_lesions_per_free_case"] == 2.0
        assert screening["lesion_cases"] == 2
        assert screening["dice_lesion_cases"] == pytest.approx((2 * 4 / (5 + 6) + 1.0) / 2)
    args = [str(pred_dir), str(ref_dir), "--mask-dir", str(mask_dir), "--id-regex", r"^(\d+)_"]
    assert main(["evaluate-folder", *args, "--lesion"]) == 0
    assert (
        "lesions class 1: pooled lesion F1 0.5714  recall 1.0000 (2/2)" in capsys.readouterr().out
    )
    without = evaluate_folder(pred_dir, ref_dir, mask_dir=mask_dir, id_regex=r"^(\d+)_")
    assert "screening" not in without.summary
