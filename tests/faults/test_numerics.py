"""Numerics at the library's edges: half-precision logits, and inputs that are empty or
whose maps would overflow.

Half precision: float16 holds at most 65504 and carries 11 significant bits, bfloat16
carries 8. A sum over a 512x512 image (262144 pixels) or a 48^3 volume overflows float16,
and the generalized Dice weight ``1 / volume^2`` underflows it; before the fix the losses
returned ``nan``, ``inf`` or values wrong in the first digit. Every loss now computes in
float32 after validating the logits, so:

* on the *same* (rounded) logits, a half-precision input gives exactly the float32 loss,
  and its gradient is the float32 gradient rounded to the input's dtype;
* against the unrounded float32 logits, the only difference left is the rounding of the
  logits themselves, a relative error of at most ``eps / 2`` per logit.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boundaryloss.maps import rrw_map, set_backend, signed_distance_map, unsigned_distance_map
from boundaryloss.metrics import (
    average_surface_distance,
    dice,
    hausdorff_distance,
    normalized_surface_dice,
)
from boundaryloss.training.components import LOSSES

HALF = [torch.float16, torch.bfloat16]


def _case(spatial: tuple[int, ...], seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """3-class logits ``(1, 3, *spatial)`` and labels with one large and one small object.

    The small object makes the generalized Dice weight ``1 / volume^2`` far below float16's
    smallest normal number; the image is large enough that pixel sums exceed 65504.
    """
    generator = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn((1, 3, *spatial), generator=generator)
    label = torch.zeros((1, *spatial), dtype=torch.long)
    big = tuple(slice(n // 4, n // 2) for n in spatial)
    small = tuple(slice(3 * n // 4, 3 * n // 4 + 3) for n in spatial)
    label[(0, *big)] = 1
    label[(0, *small)] = 2
    return logits, label


def _value_and_grad(loss, logits: torch.Tensor, label: torch.Tensor):
    leaf = logits.detach().requires_grad_()
    value = loss(leaf, label)
    value.backward()
    return value.detach(), leaf.grad


CASES = {"512x512": (512, 512), "48^3": (48, 48, 48)}
TERMS = {name: {} for name in LOSSES} | {
    "boundary_foreground": {"include_background": False},
    "gdl_foreground": {"include_background": False},
}


def _loss(term: str):
    name = term if term in LOSSES else term.rsplit("_", 1)[0]
    return LOSSES[name](**TERMS[term])


@pytest.mark.parametrize("dtype", HALF, ids=["float16", "bfloat16"])
@pytest.mark.parametrize("size", sorted(CASES))
@pytest.mark.parametrize("term", sorted(TERMS))
def test_half_precision_logits_give_the_float32_loss(term, size, dtype):
    loss = _loss(term)
    logits, label = _case(CASES[size], seed=len(size))
    rounded = logits.to(dtype)
    value, grad = _value_and_grad(loss, rounded, label)
    assert value.dtype == torch.float32
    assert grad.dtype == dtype
    assert torch.isfinite(value)
    assert torch.isfinite(grad).all()

    # The same rounded logits in float32: the computation is the same, value for value.
    value32, grad32 = _value_and_grad(loss, rounded.float(), label)
    torch.testing.assert_close(value, value32, rtol=0, atol=0)
    torch.testing.assert_close(grad, grad32.to(dtype), rtol=0, atol=0)

    # The unrounded logits: each logit moved by at most eps/2 of its size. The losses are
    # averages of smooth functions of the logits, so the value moves by a fraction of eps
    # of the average magnitude of what is summed; eps of the float32 value (plus eps of
    # the loss's scale for values near 0, as the boundary loss can be) bounds it.
    exact, _ = _value_and_grad(loss, logits, label)
    eps = torch.finfo(dtype).eps
    per_class = type(loss)(**{**TERMS[term], "reduction": "none"})(logits, label)
    magnitude = float(per_class.abs().sum())
    torch.testing.assert_close(value, exact, rtol=eps, atol=eps * magnitude)


# --- Empty inputs and spacings whose distances overflow: a ValueError naming the argument.

EMPTY_LOGITS = {
    "batch of 0": ((0, 2, 8, 8), (0, 8, 8), r"logits has an empty batch axis"),
    "zero-size axis": ((1, 2, 0, 8), (1, 0, 8), r"logits has a zero-size spatial axis"),
    "zero-size 3D axis": ((1, 2, 4, 4, 0), (1, 4, 4, 0), r"logits has a zero-size spatial axis"),
    "0 channels": ((1, 0, 8, 8), (1, 8, 8), r"logits has an empty channel axis"),
}


@pytest.mark.parametrize("case", sorted(EMPTY_LOGITS))
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_refuse_empty_inputs(name, case):
    logits_shape, target_shape, match = EMPTY_LOGITS[case]
    logits = torch.zeros(logits_shape, requires_grad=True)
    target = torch.zeros(target_shape, dtype=torch.long)
    with pytest.raises(ValueError, match=match):
        LOSSES[name](activation="sigmoid" if logits_shape[1] == 0 else "softmax")(logits, target)


def _square_label(shape: tuple[int, ...]) -> torch.Tensor:
    label = torch.zeros((1, *shape), dtype=torch.long)
    label[(0, *(slice(2, 5) for _ in shape))] = 1
    return label


MAP_LOSSES = [name for name in sorted(LOSSES) if LOSSES[name]().map_requirement() is not None]
# float32 squared distances: entries below sqrt(tiny) ~ 1.1e-19 flush to 0, an 8x8 image
# with spacing 1e19 has a squared diagonal of 1.3e40 > 3.4e38.
EXTREME_SPACINGS = [1e19, 1e38, 1e-20, 1e-300, (1.0, 1e30)]


@pytest.mark.parametrize("spacing", EXTREME_SPACINGS, ids=str)
@pytest.mark.parametrize("name", MAP_LOSSES)
def test_losses_refuse_a_spacing_whose_maps_overflow(name, spacing):
    loss = LOSSES[name](spacing=spacing)
    if name == "region_wise":
        loss = LOSSES[name](spacing=spacing, map="boundary")
    with pytest.raises(ValueError, match=r"spacing=.* unrepresentable in float32"):
        loss(torch.randn(1, 2, 8, 8), _square_label((8, 8)))


def test_hausdorff_loss_refuses_a_distance_power_that_overflows():
    # spacing 1e18 keeps the distances finite in float32 (up to ~1.1e19) but d^2 ~ 1e37
    # summed over the image leaves float32's range.
    loss = LOSSES["hausdorff"](spacing=1e18, alpha=2.5)
    with pytest.raises(ValueError, match=r"the loss is not finite in torch\.float32"):
        loss(torch.randn(1, 2, 8, 8), _square_label((8, 8)))


MAP_FUNCTIONS = {
    "signed": lambda label, **kw: signed_distance_map(label, 2, **kw),
    "unsigned": lambda label, **kw: unsigned_distance_map(label, 2, **kw),
    "rrw": lambda label, **kw: rrw_map(label, 2, **kw),
}


@pytest.mark.parametrize("backend", ["edt", "scipy"])
@pytest.mark.parametrize("spacing", EXTREME_SPACINGS, ids=str)
@pytest.mark.parametrize("kind", sorted(MAP_FUNCTIONS))
def test_maps_refuse_a_spacing_whose_distances_overflow(kind, spacing, backend):
    label = _square_label((8, 8))[0].numpy()
    set_backend(backend)
    try:
        with pytest.raises(ValueError, match=r"spacing=.* unrepresentable in float32"):
            MAP_FUNCTIONS[kind](label, spacing=spacing)
    finally:
        set_backend(None)


@pytest.mark.parametrize("spacing", [1e18, 2e-19, (0.5, 1e18)], ids=str)
def test_maps_keep_extreme_but_representable_spacings_exact(spacing):
    """Just inside the limits the maps are the unit-spacing maps scaled (no flush, no inf)."""
    label = _square_label((8, 8))[0].numpy()
    scale = np.broadcast_to(np.asarray(spacing, dtype=np.float64), (2,))
    unit = signed_distance_map(label, 2, spacing=tuple(scale / scale.min()))
    scaled = signed_distance_map(label, 2, spacing=spacing)
    assert np.isfinite(scaled).all()
    np.testing.assert_allclose(scaled / scale.min(), unit, rtol=1e-6)


EMPTY_LABELS = {
    "batch of 0": (np.zeros((0, 8, 8), np.int64), {"batch": True}, "label has an empty batch"),
    "zero-size axis": (np.zeros((0, 8), np.int64), {}, "label has a zero-size spatial axis"),
    "zero-size 3D axis": (np.zeros((4, 0, 4), np.int64), {}, "label has a zero-size spatial"),
    "0 channels": (np.zeros((0, 8, 8), bool), {"one_hot": True}, "label has an empty channel"),
    "batch of 0 one-hot": (
        np.zeros((0, 2, 8, 8), bool),
        {"one_hot": True, "batch": True},
        "label has an empty batch",
    ),
}


@pytest.mark.parametrize("case", sorted(EMPTY_LABELS))
@pytest.mark.parametrize("kind", sorted(MAP_FUNCTIONS))
def test_maps_refuse_empty_labels(kind, case):
    label, options, match = EMPTY_LABELS[case]
    with pytest.raises(ValueError, match=match):
        MAP_FUNCTIONS[kind](label, **options)
    with pytest.raises(ValueError, match=match):
        MAP_FUNCTIONS[kind](torch.from_numpy(label), **options)


METRICS = {
    "dice": lambda pred, ref, **kw: dice(pred, ref, **kw),
    "hausdorff": lambda pred, ref, **kw: hausdorff_distance(pred, ref, **kw),
    "hd95": lambda pred, ref, **kw: hausdorff_distance(pred, ref, percentile=95, **kw),
    "assd": lambda pred, ref, **kw: average_surface_distance(pred, ref, **kw),
    "nsd": lambda pred, ref, **kw: normalized_surface_dice(pred, ref, 1.0, **kw),
}


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_metrics_refuse_empty_inputs(metric):
    compute = METRICS[metric]
    empty_axis = np.zeros((0, 8), np.int64)
    with pytest.raises(ValueError, match="pred has a zero-size spatial axis"):
        compute(empty_axis, empty_axis)
    no_channels = np.zeros((0, 8, 8), bool)
    with pytest.raises(ValueError, match="pred has an empty channel axis"):
        compute(no_channels, no_channels, one_hot=True)


@pytest.mark.parametrize("spacing", [1e160, 1e-160, (1.0, 1e300)], ids=str)
@pytest.mark.parametrize("metric", sorted(set(METRICS) - {"dice"}))
def test_metrics_refuse_a_spacing_whose_distances_overflow(metric, spacing):
    # Surface distances are float64 and squared inside the distance transform: an 8x8
    # image with spacing 1e160 has a squared diagonal far beyond 1.8e308.
    pred = _square_label((8, 8))[0].numpy()
    ref = np.roll(pred, 2, axis=1)
    with pytest.raises(ValueError, match=r"spacing=.* unrepresentable in float64"):
        METRICS[metric](pred, ref, spacing=spacing)
