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

import pytest
import torch

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
