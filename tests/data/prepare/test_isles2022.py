"""ISLES 2022: the BIDS layouts, FLAIR resampled into DWI's grid, the real sample case."""

from __future__ import annotations

import itertools
import shutil

import nibabel as nib
import numpy as np
import pytest

from boundaryloss.cli import main
from boundaryloss.data import DecathlonDataset
from boundaryloss.data.prepare import find_cases, prepare_dataset

from .helpers import listing, load, load_json
from .layouts import (
    AFFINE,
    ISLES22_DWI_CODES,
    ISLES22_FLAIR_SHAPE,
    ISLES22_SUBJECTS,
    SHAPE,
    isles22_flair_affine,
    isles22_images,
    isles22_paths,
    isles22_ramp,
    make_isles2022,
    save_isles22_dwi_grid,
    save_nifti,
)

LABELLED = ISLES22_SUBJECTS[:-1]
UNLABELLED = ISLES22_SUBJECTS[-1]


@pytest.fixture(params=["zenodo", "rawdata"])
def layout(request):
    return request.param


@pytest.fixture
def src(tmp_path, layout):
    return make_isles2022(tmp_path / "ISLES-2022", layout)


def paths(src, layout, number: int = 1) -> dict:
    return isles22_paths(src, ISLES22_SUBJECTS[number - 1], layout)


def session_dir(src, layout, number: int = 1):
    raw = src / "rawdata" if layout == "rawdata" else src
    return raw / ISLES22_SUBJECTS[number - 1] / "ses-0001"


def codes(image) -> tuple[int, int]:
    return int(image.header["qform_code"]), int(image.header["sform_code"])


# --- the synthetic download, in both official layouts --------------------------------------


def test_channels_labels_and_splits(src, layout, tmp_path):
    dst = tmp_path / "out"
    result = prepare_dataset("isles2022", src, dst)
    assert (result.num_training, result.num_test) == (2, 1)
    assert listing(dst) == [
        ".boundaryloss.json",
        "dataset.json",
        "imagesTr",
        "imagesTs",
        "labelsTr",
    ]
    assert listing(dst / "imagesTr") == [f"{s}_{i:04d}.nii.gz" for s in LABELLED for i in range(3)]
    assert listing(dst / "imagesTs") == [f"{UNLABELLED}_{i:04d}.nii.gz" for i in range(3)]
    for number, subject in enumerate(ISLES22_SUBJECTS, start=1):
        source = isles22_images(number)
        dwi_affine = nib.load(isles22_paths(src, subject, layout)["dwi"]).affine
        folder = "imagesTs" if subject == UNLABELLED else "imagesTr"
        for channel, modality in enumerate(("dwi", "adc")):
            data, image = load(dst / folder / f"{subject}_{channel:04d}.nii.gz")
            assert data.dtype == np.float32
            np.testing.assert_array_equal(data, source[modality].astype(np.float32))
            np.testing.assert_array_equal(image.affine, dwi_affine)
            assert codes(image) == ISLES22_DWI_CODES
        if subject != UNLABELLED:
            label, image = load(dst / "labelsTr" / f"{subject}.nii.gz")
            assert label.dtype == np.uint8
            np.testing.assert_array_equal(label, source["msk"])
            # The mask ships with qform 0 / sform 2; it is written with DWI's header.
            assert codes(image) == ISLES22_DWI_CODES
            np.testing.assert_array_equal(image.affine, dwi_affine)


def test_flair_world_ramp_is_reproduced_in_dwi_space(src, tmp_path):
    prepare_dataset("isles2022", src, tmp_path / "out")
    flair, image = load(tmp_path / "out" / "imagesTr" / f"{LABELLED[0]}_0002.nii.gz")
    assert flair.dtype == np.float32 and flair.shape == SHAPE
    assert image.header.get_zooms() == pytest.approx((0.9, 0.8, 5.0))
    assert codes(image) == ISLES22_DWI_CODES

    # Each DWI voxel's position in FLAIR voxels, by nibabel's affine algebra.
    indices = np.stack(np.indices(SHAPE), axis=-1).reshape(-1, 3)
    to_flair = np.linalg.inv(isles22_flair_affine()) @ AFFINE
    position = nib.affines.apply_affine(to_flair, indices)
    size = np.array(ISLES22_FLAIR_SHAPE)
    between_centres = np.all((position >= 0) & (position <= size - 1), axis=1)
    in_field = np.all((position >= -0.5) & (position <= size - 0.5), axis=1)
    margin = in_field & ~between_centres
    # The fixture exercises all three cases.
    assert between_centres.sum() > 100 and margin.sum() > 50 and (~in_field).sum() > 50

    got = flair.reshape(-1)
    world = nib.affines.apply_affine(AFFINE, indices)
    # A linear function of the world is linear in FLAIR's voxels: trilinear is exact.
    np.testing.assert_allclose(got[between_centres], isles22_ramp(world[between_centres]), 1e-6)
    # Half a voxel beyond the outermost centres: the value at the nearest point inside.
    nearest = np.clip(position[margin], 0, size - 1)
    expected = isles22_ramp(nib.affines.apply_affine(isles22_flair_affine(), nearest))
    np.testing.assert_allclose(got[margin], expected, rtol=1e-6)
    assert np.all(got[~in_field] == 0)


def test_dataset_json(src, tmp_path):
    prepare_dataset("isles2022", src, tmp_path / "out")
    meta = load_json(tmp_path / "out")
    assert meta["name"] == "ISLES2022"
    assert meta["channel_names"] == {"0": "DWI", "1": "ADC", "2": "FLAIR"}
    assert meta["modality"] == meta["channel_names"]
    assert meta["labels"] == {"background": 0, "lesion": 1}
    assert (meta["numTraining"], meta["numTest"], meta["file_ending"]) == (2, 1, ".nii.gz")
    assert meta["training"][0] == {
        "image": f"./imagesTr/{LABELLED[0]}.nii.gz",
        "label": f"./labelsTr/{LABELLED[0]}.nii.gz",
    }
    assert meta["test"] == [f"./imagesTs/{UNLABELLED}.nii.gz"]
    assert meta["source"]["label_mapping"] == {"0": 0, "non-zero": 1}
    assert any("FLAIR resampled" in note for note in meta["source"]["notes"])


def test_case_sources(tmp_path):
    zenodo = find_cases("isles2022", make_isles2022(tmp_path / "a", "zenodo"))
    rawdata = find_cases("isles2022", make_isles2022(tmp_path / "b", "rawdata"))
    assert [c.meta["source"] for c in zenodo] == [f"{s}/ses-0001" for s in ISLES22_SUBJECTS]
    assert [c.meta["source"] for c in rawdata] == [
        f"rawdata/{s}/ses-0001" for s in ISLES22_SUBJECTS
    ]
    assert [c.channels[2].parent.name for c in zenodo] == ["anat"] * 3
    assert [c.split for c in rawdata] == ["training", "training", "test"]


def test_decathlon_dataset_reads_the_result(src, tmp_path):
    prepare_dataset("isles2022", src, tmp_path / "out")
    train = DecathlonDataset(tmp_path / "out")
    assert train.channels == ("DWI", "ADC", "FLAIR")
    case = train.load(LABELLED[1])
    assert case.image.shape == (3, *SHAPE) and case.label.shape == SHAPE
    np.testing.assert_array_equal(case.image[0], isles22_images(2)["dwi"].astype(np.float32))
    np.testing.assert_array_equal(case.label, isles22_images(2)["msk"])
    assert case.spacing == pytest.approx((0.9, 0.8, 5.0))
    test = DecathlonDataset(tmp_path / "out", "test")
    assert test.load(UNLABELLED).label is None


def test_mask_is_binarised(src, layout, tmp_path):
    mask = np.zeros(SHAPE, np.uint16)
    mask[1, 1:3, 2], mask[4, 5, 1], mask[6, 2:6, 3] = 1, 7, 65535
    save_isles22_dwi_grid(paths(src, layout)["msk"], mask)
    prepare_dataset("isles2022", src, tmp_path / "out")
    label, _ = load(tmp_path / "out" / "labelsTr" / f"{LABELLED[0]}.nii.gz")
    assert label.dtype == np.uint8 and set(np.unique(label)) == {0, 1}
    np.testing.assert_array_equal(label, mask != 0)


def test_float_mask_with_nan_is_refused(src, layout, tmp_path):
    mask = np.zeros(SHAPE, np.float32)
    mask[2, 2, 2] = np.nan
    save_isles22_dwi_grid(paths(src, layout, 2)["msk"], mask)
    with pytest.raises(ValueError, match=r"_msk\.nii\.gz: label holds NaN or infinite values"):
        prepare_dataset("isles2022", src, tmp_path / "out")


# --- leaving FLAIR out ---------------------------------------------------------------------


def test_no_flair_neither_needs_nor_reads_flair(src, layout, tmp_path):
    for number in (1, 2, 3):
        paths(src, layout, number)["flair"].unlink()
    result = prepare_dataset("isles2022", src, tmp_path / "out", leave_out=("FLAIR",))
    assert (result.num_training, result.num_test) == (2, 1)
    assert listing(tmp_path / "out" / "imagesTr") == [
        f"{s}_{i:04d}.nii.gz" for s in LABELLED for i in range(2)
    ]
    meta = load_json(tmp_path / "out")
    assert meta["channel_names"] == {"0": "DWI", "1": "ADC"}
    assert "FLAIR left out (--no-flair)" in meta["source"]["notes"]
    assert DecathlonDataset(tmp_path / "out").load(LABELLED[0]).image.shape == (2, *SHAPE)


def test_no_flair_on_the_command_line(src, tmp_path, capsys):
    dst = tmp_path / "out"
    assert main(["prepare", "isles2022", str(src), str(dst), "--no-flair", "-q"]) == 0
    assert capsys.readouterr().out.strip() == (
        f"isles2022: 2 training + 1 test cases written to {dst}"
    )
    assert load_json(dst)["channel_names"] == {"0": "DWI", "1": "ADC"}


def test_no_flair_for_another_dataset_is_one_line(tmp_path, capsys):
    from .layouts import make_wmh2017

    src = make_wmh2017(tmp_path / "WMH")
    assert main(["prepare", "wmh2017", str(src), str(tmp_path / "out"), "--no-flair"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "boundaryloss prepare: error: wmh2017: channel 'FLAIR' cannot be left out "
        "(optional channels: none)\n"
    )
    assert listing(tmp_path) == ["WMH"]


def test_only_flair_can_be_left_out(src, tmp_path):
    with pytest.raises(
        ValueError,
        match=r"^isles2022: channel 'ADC' cannot be left out \(optional channels: FLAIR\)$",
    ):
        prepare_dataset("isles2022", src, tmp_path / "out", leave_out=("ADC",))
    with pytest.raises(
        ValueError, match=r"channel 'FLAIR' cannot be left out \(optional channels: none"
    ):
        prepare_dataset("isles2022", src, tmp_path / "out", leave_out=("FLAIR", "FLAIR"))
    assert listing(tmp_path) == ["ISLES-2022"]


def test_help_says_what_happens_to_flair(capsys):
    with pytest.raises(SystemExit):
        main(["prepare", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--no-flair isles2022: leave FLAIR out (channels DWI, ADC)" in text
    assert "resampled into DWI's voxel grid through the affines (trilinear, 0 outside" in text


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("modality, channel", [("dwi", "DWI"), ("adc", "ADC"), ("flair", "FLAIR")])
def test_missing_image(src, layout, tmp_path, modality, channel):
    paths(src, layout, 2)[modality].unlink()
    with pytest.raises(
        ValueError,
        match=rf"case {ISLES22_SUBJECTS[1]}: missing {channel} image \(expected "
        rf".*ses-0001/{ISLES22_SUBJECTS[1]}_ses-0001_{modality}\.nii\.gz, or in its anat/",
    ):
        prepare_dataset("isles2022", src, tmp_path / "out")
    assert listing(tmp_path) == ["ISLES-2022"]


def test_missing_mask_in_an_existing_derivatives_folder(src, layout, tmp_path):
    paths(src, layout, 1)["msk"].unlink()
    with pytest.raises(
        ValueError,
        match=rf"case {LABELLED[0]}: missing lesion mask .*derivatives/{LABELLED[0]}/ses-0001/",
    ):
        prepare_dataset("isles2022", src, tmp_path / "out")


def test_a_mask_folder_without_its_subject_is_refused(src, layout, tmp_path):
    """A partial unzip must not silently drop labelled cases."""
    shutil.rmtree(session_dir(src, layout, 2).parent)
    with pytest.raises(
        ValueError,
        match=rf"derivatives/{LABELLED[1]}: a lesion mask folder without its subject's images",
    ):
        prepare_dataset("isles2022", src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_no_derivatives_folder(src, tmp_path):
    shutil.rmtree(src / "derivatives")
    with pytest.raises(
        ValueError, match=r"ISLES-2022: no derivatives folder \(expected the lesion masks in "
    ):
        prepare_dataset("isles2022", src, tmp_path / "out")


def test_no_subject_with_a_mask(src, layout, tmp_path):
    for subject in LABELLED:
        shutil.rmtree(src / "derivatives" / subject)
    with pytest.raises(ValueError, match=r"ISLES-2022: no training cases found for isles2022"):
        prepare_dataset("isles2022", src, tmp_path / "out")


def test_no_subjects(tmp_path):
    (tmp_path / "src" / "ISLES-2022").mkdir(parents=True)
    (tmp_path / "src" / "derivatives").mkdir()
    with pytest.raises(ValueError, match=r"src: no sub-\* folders \(expected SRC/sub-strokecase"):
        prepare_dataset("isles2022", tmp_path / "src", tmp_path / "out")


def test_two_sessions(src, layout, tmp_path):
    (session_dir(src, layout, 2).parent / "ses-0002").mkdir()
    with pytest.raises(
        ValueError, match=rf"{ISLES22_SUBJECTS[1]}: expected one ses-\* folder, found ses-0001, "
    ):
        prepare_dataset("isles2022", src, tmp_path / "out")


def test_the_same_image_twice(src, layout, tmp_path):
    flair = paths(src, layout)["flair"]
    other = session_dir(src, layout) / ("." if layout == "zenodo" else "anat")
    other.mkdir(exist_ok=True)
    shutil.copy(flair, other / flair.name)  # a second FLAIR beside or below the first
    with pytest.raises(ValueError, match=r"_ses-0001_flair: 2 files \(.*\); expected one"):
        prepare_dataset("isles2022", src, tmp_path / "out")


def test_adc_shape_mismatch_names_the_file(src, layout, tmp_path):
    save_isles22_dwi_grid(paths(src, layout, 2)["adc"], np.zeros((8, 9, 4)))
    with pytest.raises(
        ValueError, match=r"_ses-0001_adc\.nii\.gz: shape \(8, 9, 4\) does not match .*_dwi"
    ):
        prepare_dataset("isles2022", src, tmp_path / "out")
    assert listing(tmp_path) == ["ISLES-2022"]


def test_mask_affine_mismatch_names_the_file(src, layout, tmp_path):
    shifted = AFFINE.copy()
    shifted[2, 3] += 1.0
    save_nifti(paths(src, layout, 1)["msk"], np.zeros(SHAPE, np.uint16), shifted)
    with pytest.raises(ValueError, match=r"_msk\.nii\.gz: affine .* does not match .*_dwi"):
        prepare_dataset("isles2022", src, tmp_path / "out")


def test_flair_outside_dwi_is_refused(src, layout, tmp_path):
    far = isles22_flair_affine()
    far[:3, 3] += 500.0
    save_nifti(paths(src, layout, 2)["flair"], np.ones(ISLES22_FLAIR_SHAPE), far)
    with pytest.raises(
        ValueError, match=r"(?i)_flair\.nii\.gz: its field of view does not overlap .*_dwi"
    ):
        prepare_dataset("isles2022", src, tmp_path / "out")
    assert listing(tmp_path) == ["ISLES-2022"]


def test_truncated_flair_is_named(src, layout, tmp_path):
    path = paths(src, layout, 3)["flair"]
    rng = np.random.default_rng(0)
    save_nifti(path, rng.normal(size=(40, 40, 20)), isles22_flair_affine())
    path.write_bytes(path.read_bytes()[:-5000])
    with pytest.raises(ValueError, match=r"(?i)_flair\.nii\.gz: corrupt or truncated gzip data"):
        prepare_dataset("isles2022", src, tmp_path / "out")
    assert listing(tmp_path) == ["ISLES-2022"]


# --- the real sample case ------------------------------------------------------------------

SAMPLE_SUBJECT = "sub-strokecase0009"


@pytest.fixture(scope="module")
def real(shared_data, tmp_path_factory):
    """The shared sample case and what ``prepare`` makes of it (prepared once)."""
    src = shared_data / "isles2022_sample"
    if not src.is_dir():
        pytest.skip(f"ISLES 2022 sample not found at {src}")
    dst = tmp_path_factory.mktemp("isles2022") / "out"
    prepare_dataset("isles2022", src, dst)
    stem = f"{SAMPLE_SUBJECT}_ses-0001"
    raw = src / "rawdata" / SAMPLE_SUBJECT / "ses-0001"
    sources = {m: nib.load(str(raw / f"{stem}_{m}.nii.gz")) for m in ("dwi", "adc", "flair")}
    sources["msk"] = nib.load(
        str(src / "derivatives" / SAMPLE_SUBJECT / "ses-0001" / f"{stem}_msk.nii.gz")
    )
    return dst, sources


def trilinear(volume: np.ndarray, point: np.ndarray) -> float:
    """The trilinear interpolation of ``volume`` at voxel coordinates ``point``, written
    out over the 8 surrounding voxels (``point`` between the outermost voxel centres)."""
    base = np.floor(point).astype(int)
    fraction = point - base
    total = 0.0
    for corner in itertools.product((0, 1), repeat=3):
        index = np.minimum(base + np.array(corner), np.array(volume.shape) - 1)
        weight = np.prod([f if c else 1.0 - f for f, c in zip(fraction, corner, strict=True)])
        total += weight * float(volume[tuple(index)])
    return total


def test_real_sample_headers_and_values(real):
    dst, sources = real
    dwi = sources["dwi"]
    assert listing(dst / "imagesTr") == [f"{SAMPLE_SUBJECT}_{i:04d}.nii.gz" for i in range(3)]
    for channel, modality in enumerate(("dwi", "adc", "flair")):
        data, image = load(dst / "imagesTr" / f"{SAMPLE_SUBJECT}_{channel:04d}.nii.gz")
        assert data.shape == (112, 112, 73) and data.dtype == np.float32
        assert image.header.get_zooms() == pytest.approx((2.0, 2.0, 2.0))
        np.testing.assert_array_equal(image.affine, dwi.affine)
        assert codes(image) == codes(dwi)
        if modality != "flair":
            source = np.asanyarray(sources[modality].dataobj)
            np.testing.assert_array_equal(data, source.astype(np.float32))
            np.testing.assert_allclose(data, source, rtol=1e-7, atol=1e-12)
    label, image = load(dst / "labelsTr" / f"{SAMPLE_SUBJECT}.nii.gz")
    assert label.dtype == np.uint8 and set(np.unique(label)) == {0, 1}
    assert int(label.sum()) == np.count_nonzero(np.asanyarray(sources["msk"].dataobj)) == 523
    np.testing.assert_array_equal(image.affine, dwi.affine)


def test_real_sample_flair_in_dwi_space(real):
    dst, sources = real
    flair, _ = load(dst / "imagesTr" / f"{SAMPLE_SUBJECT}_0002.nii.gz")
    source = sources["flair"]
    volume = np.asanyarray(source.dataobj)
    assert volume.shape == (512, 512, 29)
    to_flair = np.linalg.inv(source.affine) @ sources["dwi"].affine
    size = np.array(volume.shape)
    rng = np.random.default_rng(0)
    # Random voxels, and the first slice: it lies in the half voxel below FLAIR's first
    # slice centres (FLAIR covers all of DWI in the world, so nothing here is outside).
    first_slice = np.stack(np.indices((112, 112, 1)), axis=-1).reshape(-1, 3)[::97]
    points = np.concatenate([rng.integers(0, (112, 112, 73), size=(400, 3)), first_slice])
    between = margin = 0
    for point in points:
        position = nib.affines.apply_affine(to_flair, point)
        assert np.all((position >= -0.5) & (position <= size - 0.5))
        inside = np.all((position >= 0) & (position <= size - 1))
        between, margin = between + inside, margin + (not inside)
        expected = trilinear(volume, np.clip(position, 0, size - 1))
        assert float(flair[tuple(point)]) == pytest.approx(expected, rel=1e-5, abs=1e-3)
    assert between > 300 and margin > 100
    # The brain in DWI (signal above 50) is where FLAIR has signal too.
    dwi = np.asanyarray(sources["dwi"].dataobj)
    brain = dwi > 50
    assert np.mean(flair[brain] > 50) > 0.95


def test_real_sample_reads_as_a_decathlon_dataset(real):
    dst, sources = real
    case = DecathlonDataset(dst).load(SAMPLE_SUBJECT)
    assert case.image.shape == (3, 112, 112, 73)
    assert case.spacing == pytest.approx((2.0, 2.0, 2.0))
    assert int(case.label.sum()) == 523
    np.testing.assert_allclose(case.affine, sources["dwi"].affine)
