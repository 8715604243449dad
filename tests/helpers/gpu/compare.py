"""Numbers of a mixed-precision step against the fp32 CPU step: errors, tolerances, the gradients
an optimizer step applies. Device-agnostic: the dry run exercises them on a CPU.

The tolerances (relative to the fp32 CPU step of the same weights, images and masks):

======== ============= ========================= =================================
dtype    loss rel err  gradients: rel L2 error   cosine of every gradient tensor
======== ============= ========================= =================================
float16  5e-3          2e-2                      >= 0.995
bfloat16 2e-2          1e-1                      >= 0.98
======== ============= ========================= =================================

The gradient error is taken over all gradients as one vector; the cosine per tensor skips
tensors whose fp32 gradient is below 1e-6 of the largest tensor norm (nothing to compare but
rounding). ViT-B at batch 8 under CPU autocast (attention in fp32 there) gave loss 3e-6 / 7e-5,
gradients 9e-4 / 6e-3, lowest cosine 0.999999 / 0.99996 (fp16 / bf16, 2026-12-07); a GPU runs
attention in the autocast dtype too, so the bounds leave about an order of magnitude for that,
while a wrong scale, cast or kernel gives errors of order one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class Tolerance:
    loss: float  # |loss - ref| / |ref|
    grad: float  # ||g - g_ref|| / ||g_ref|| over all gradients
    cosine: float  # lowest cosine(g, g_ref) of one tensor


TOLERANCES = {
    torch.float16: Tolerance(loss=5e-3, grad=2e-2, cosine=0.995),
    torch.bfloat16: Tolerance(loss=2e-2, grad=1e-1, cosine=0.98),
}
NEGLIGIBLE = 1e-6  # a tensor whose gradient norm is below this share of the largest: no cosine


def loss_error(loss: float, reference: float) -> float:
    """Relative error of ``loss`` against ``reference``."""
    return abs(loss - reference) / abs(reference)


def grad_errors(grads: dict[str, Tensor], reference: dict[str, Tensor]) -> dict[str, Any]:
    """``rel_l2`` over all gradients, the lowest per-tensor ``cosine`` and its ``tensor``, the
    ``tensors`` compared. Both dicts map parameter names to gradients of the same shapes."""
    if sorted(grads) != sorted(reference):
        missing, extra = sorted(set(reference) - set(grads)), sorted(set(grads) - set(reference))
        raise AssertionError(f'other gradients: missing {missing[:5]}, extra {extra[:5]}')
    names = sorted(reference)
    got = {n: grads[n].detach().double().cpu().flatten() for n in names}
    ref = {n: reference[n].detach().double().cpu().flatten() for n in names}
    for name in names:
        if got[name].shape != ref[name].shape:
            raise AssertionError(f'{name}: shape {tuple(got[name].shape)} vs {ref[name].shape}')
    diff = torch.cat([got[n] - ref[n] for n in names]).norm()
    rel_l2 = float(diff / torch.cat(list(ref.values())).norm())
    norms = {n: float(ref[n].norm()) for n in names}
    floor = NEGLIGIBLE * max(norms.values())
    worst, worst_name = 1.0, None
    for name in names:
        if norms[name] <= floor:
            continue
        cosine = float(torch.nn.functional.cosine_similarity(got[name], ref[name], dim=0))
        if cosine < worst:
            worst, worst_name = cosine, name
    return dict(rel_l2=rel_l2, cosine=worst, tensor=worst_name, tensors=len(names))


def check_step(
    dtype: torch.dtype, loss: float, ref_loss: float, errors: dict[str, Any]
) -> list[str]:
    """What is outside :data:`TOLERANCES` of ``dtype`` (empty: all within)."""
    tol = TOLERANCES[dtype]
    out = []
    if not loss_error(loss, ref_loss) <= tol.loss:
        out.append(f'loss {loss:.6g} vs fp32 {ref_loss:.6g}: relative error > {tol.loss:g}')
    if not errors['rel_l2'] <= tol.grad:
        out.append(f'gradients: relative L2 error {errors["rel_l2"]:.3g} > {tol.grad:g}')
    if not errors['cosine'] >= tol.cosine:
        out.append(f'gradient of {errors["tensor"]}: cosine {errors["cosine"]:.4f} < {tol.cosine}')
    return out


class StepGrads:
    """The gradients the next step of ``optimizer`` applies, unscaled, as fp32 CPU tensors keyed
    by ``model``'s parameter names (``grads``), and whether that step is skipped on the device
    (``skipped``: its ``found_inf`` was set, by a GradScaler or by the plugin's guard).

    A GradScaler unscales before a plain optimizer's step, but hands a fused one the scale
    (``optimizer.grad_scale``) to divide by inside its kernel: divided here too.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.names = {id(p): n for n, p in model.named_parameters()}
        self.grads: dict[str, Tensor] | None = None
        self.skipped: bool | None = None
        self.steps = 0
        self._handle = optimizer.register_step_pre_hook(self._before_step)

    def _before_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        scale = getattr(optimizer, 'grad_scale', None)
        found = getattr(optimizer, 'found_inf', None)
        self.steps += 1
        self.skipped = bool(found is not None and float(found) > 0)
        self.grads = {}
        for group in optimizer.param_groups:
            for p in group['params']:
                if p.grad is not None:
                    # a copy: a fused kernel unscales the gradients in place
                    grad = p.grad.detach().float().clone()
                    if scale is not None:
                        grad = grad / scale.float()
                    self.grads[self.names[id(p)]] = grad.cpu()

    def remove(self) -> None:
        self._handle.remove()


def snapshot(params: Iterable[Tensor]) -> list[Tensor]:
    """CPU copies of ``params``."""
    return [p.detach().cpu().clone() for p in params]


def same(a: list[Tensor], b: list[Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
