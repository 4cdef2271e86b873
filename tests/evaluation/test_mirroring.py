"""Test-time mirroring and the ``inference`` section (sliding windows in 2D)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from boundaryloss.cli import main
from boundaryloss.config import ConfigError
from boundaryloss.evaluation.evaluate_run import evaluate_run
from boundaryloss.evaluation.inference import (
    inference_window,
    predict_with_config,
    probabilities,
    sliding_window,
)
from boundaryloss.training.engine import Trainer


class SymmetricConv(nn.Module):
    """A convolution whose kernels are symmetric under every flip: flip-equivariant."""

    def __init__(self, dims: int) -> None:
        super().__init__()
        conv = {2: nn.Conv2d, 3: nn.Conv3d}[dims](1, 3, 3, padding=1)
        with torch.no_grad():
            weight = conv.weight
            for axes in [(a,) for a in range(2, 2 + dims)]:
                weight.copy_((weight + weight.flip(axes)) / 2)
        self.conv = conv

    def forward(self, x):
        return self.conv(x)


class Ramp(nn.Module):
    """Not flip-equivariant: logits depend on the position along every axis."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        ramp = sum(
            torch.linspace(0, 1, n).reshape([-1 if a == i else 1 for a in range(x.ndim - 2)])
            for i, n in enumerate(x.shape[2:])
        )
        return torch.cat([x, x * 2 + ramp, -x + ramp**2], dim=1)


@pytest.mark.parametrize("dims", [2, 3])
def test_flip_equivariant_model_gives_its_plain_output(dims):
    torch.manual_seed(0)
    model = SymmetricConv(dims)
    x = torch.randn(2, 1, *(9,) * dims)
    torch.testing.assert_close(probabilities(model, x, mirror=True), probabilities(model, x))


def test_mirroring_averages_the_four_flipped_back_predictions_in_2d():
    torch.manual_seed(0)
    model = Ramp()
    x = torch.randn(1, 1, 6, 7)

    def softmax(t):
        return torch.softmax(t, dim=1)

    expected = (
        softmax(model(x))
        + softmax(model(x.flip(2))).flip(2)
        + softmax(model(x.flip(3))).flip(3)
        + softmax(model(x.flip(2).flip(3))).flip(3).flip(2)
    ) / 4
    model.calls = 0
    got = probabilities(model, x, mirror=True)
    assert model.calls == 4
    torch.testing.assert_close(got, expected)
    assert not torch.allclose(got, probabilities(model, x))


def test_mirroring_in_3d_uses_eight_passes_and_sums_to_one():
    model = Ramp()
    out = probabilities(model, torch.randn(1, 1, 4, 5, 6), mirror=True)
    assert model.calls == 8
    torch.testing.assert_close(out.sum(1), torch.ones(1, 4, 5, 6))


def test_config_selects_windows_and_mirroring(tiny_config):
    plain = tiny_config("data.patch_size=[16, 16]")
    assert inference_window(plain) is None  # 2D default: whole images
    config = tiny_config(
        "data.patch_size=[16, 16]", "inference.sliding_window=true", "inference.mirror=true"
    )
    assert list(inference_window(config)) == [16, 16]
    model, image = Ramp(), torch.randn(1, 40, 37)
    expected = sliding_window(model, image, (16, 16), overlap=0.5, mirror=True)
    torch.testing.assert_close(predict_with_config(model, image, config), expected)
    unmirrored = predict_with_config(model, image, config, mirror=False)
    assert not torch.allclose(unmirrored, expected)
    with pytest.raises(ConfigError, match=r"^inference\.sliding_window: needs data\.patch_size"):
        tiny_config("inference.sliding_window=true")


def test_training_and_evaluation_with_windows_and_mirroring(tiny_config, tmp_path):
    config = tiny_config(
        "train.epochs=1",
        "data.patch_size=[32, 32]",
        "inference.sliding_window=true",
        "inference.mirror=true",
    )
    summary = Trainer(config).fit()
    assert 0.0 <= summary["final"]["val_dice_mean"] <= 1.0
    mirrored = evaluate_run(config.run_dir, checkpoint="last", output=tmp_path / "a")
    plain = evaluate_run(config.run_dir, checkpoint="last", output=tmp_path / "b", mirror=False)
    assert mirrored["num_cases"] == plain["num_cases"] == 2
    args = ["evaluate", str(config.run_dir), "--checkpoint", "last", "--no-mirror"]
    assert main([*args, "--output", str(tmp_path / "c")]) == 0
