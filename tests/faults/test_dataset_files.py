"""Every file of a dataset is accounted for: a label without its image is an error,
not a case left out."""

from __future__ import annotations

import pytest

from .conftest import write_msd


@pytest.mark.parametrize("split", ["Tr", "Ts"])
def test_a_label_without_its_image_is_not_skipped_silently(tmp_path, split):
    # A labelsTs (or labelsTr) file whose image is missing was left out: the test split
    # scored fewer cases than the dataset holds, and nothing said so.
    import shutil

    from boundaryloss.data import DecathlonDataset

    root = write_msd(tmp_path / "data", [(12, 12, 4)] * 2)
    if split == "Ts":
        shutil.copytree(root / "imagesTr", root / "imagesTs")
        shutil.copytree(root / "labelsTr", root / "labelsTs")
    (root / f"imagesT{split[1]}" / "case_001.nii.gz").unlink()
    with pytest.raises(ValueError, match=r"case_001\.nii\.gz: label without an image"):
        DecathlonDataset(root, split="train" if split == "Tr" else "test")
