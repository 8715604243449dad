"""LARS: a step is the official linear probe's LARS step."""

import torch
from mmengine.registry import DefaultScope

import mae_plugin  # noqa: F401
from mae_plugin.engine.registry import OPTIMIZERS


def official_lars_step(params, grads, lr, momentum, trust=0.001, wd=0.0):
    """util/lars.py of the official repository, first step (momentum buffer starts at 0)."""
    out = []
    for p, g in zip(params, grads, strict=True):
        dp = g.clone()
        if p.ndim > 1:
            dp = dp + wd * p
            q = trust * p.norm() / dp.norm()
            dp = dp * q
        mu = torch.zeros_like(p) * momentum + dp
        out.append(p - lr * mu)
    return out


def test_lars_step_is_the_official_linear_probe_lars():
    torch.manual_seed(0)
    head = torch.nn.Linear(16, 5)
    before = [p.detach().clone() for p in head.parameters()]
    head(torch.randn(8, 16)).square().mean().backward()
    grads = [p.grad.clone() for p in head.parameters()]
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        optimizer = OPTIMIZERS.build(
            dict(type='MAELARS', params=head.parameters(), lr=6.4, momentum=0.9, weight_decay=0.0)
        )
    optimizer.step()
    expected = official_lars_step(before, grads, lr=6.4, momentum=0.9)
    for got, want in zip(head.parameters(), expected, strict=True):
        torch.testing.assert_close(got.detach(), want, rtol=1e-5, atol=1e-7)
