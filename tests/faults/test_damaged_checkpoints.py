"""A checkpoint that cannot be used is named with what is wrong with it."""

from __future__ import annotations

import pytest

from boundaryloss.cli import main

from .conftest import one_error_line, png_image


def test_an_empty_checkpoint_says_so(tmp_path, capsys):
    # The message was "empty.pt: cannot read checkpoint ()".
    (tmp_path / "empty.pt").write_bytes(b"")
    image = png_image(tmp_path / "in")
    argv = ["predict", str(tmp_path / "empty.pt"), str(image), str(tmp_path / "out.png")]
    assert main(argv) == 1
    assert "empty.pt: cannot read checkpoint (the file is empty)" in one_error_line(capsys)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("in_channels=x", "stored model does not build (model.kwargs.in_channels:"),
        ("in_channels", "checkpoint has no 'in_channels' entry"),
    ],
)
def test_a_damaged_checkpoint_is_named(trained, tmp_path, capsys, change, message):
    # The message named a config key but not the checkpoint file (or was a bare KeyError).
    import torch

    state = torch.load(trained, weights_only=True)
    key, _, value = change.partition("=")
    if value:
        state[key] = value
    else:
        del state[key]
    damaged = tmp_path / "damaged.pt"
    torch.save(state, damaged)
    image = png_image(tmp_path / "in")
    assert main(["predict", str(damaged), str(image), str(tmp_path / "out.png")]) == 1
    assert f"{damaged}: {message}" in one_error_line(capsys)
