"""Non-finite steps are skipped on the device and counted; a run of them stops training."""

import pytest
import torch
from mmengine.logging import MessageHub
from torch import nn

from mae_plugin.engine.nonfinite import FiniteOptimWrapper


def wrapper(optimizer_kw, **kw):
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1, **optimizer_kw)
    return model, FiniteOptimWrapper(optimizer, **kw)


def train_step(model, optim, bad=False, it=0):
    MessageHub.get_current_instance().update_info('iter', it)
    loss = model(torch.ones(2, 4)).square().mean()
    optim.update_params(loss * float('nan') if bad else loss)


def snapshot(model, optim):
    state = [v.clone() for s in optim.optimizer.state.values() for v in s.values()]
    return [p.detach().clone() for p in model.parameters()], state


@pytest.mark.parametrize('optimizer_kw', [dict(fused=True), dict(foreach=True)])
def test_a_nan_step_changes_nothing_and_training_goes_on(optimizer_kw):
    model, optim = wrapper(optimizer_kw, check_interval=1)
    train_step(model, optim)
    weights, state = snapshot(model, optim)
    train_step(model, optim, bad=True, it=1)
    after, after_state = snapshot(model, optim)
    assert all(torch.equal(a, b) for a, b in zip(weights, after, strict=True))
    # moments and step count too
    assert all(torch.equal(a, b) for a, b in zip(state, after_state, strict=True))
    assert optim.skipped_steps == 1
    train_step(model, optim, it=2)
    assert not torch.equal(weights[0], model.weight)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_non_finite_gradients_with_a_finite_loss_are_skipped():
    model, optim = wrapper(dict(fused=True), check_interval=1)
    model.weight.register_hook(lambda g: g * float('inf'))
    weights, _ = snapshot(model, optim)
    train_step(model, optim)
    assert torch.equal(weights[0], model.weight) and optim.skipped_steps == 1


def test_skips_in_a_row_stop_naming_the_iterations():
    model, optim = wrapper(dict(fused=True), max_consecutive_skips=3, check_interval=4)
    train_step(model, optim, it=0)
    train_step(model, optim, bad=True, it=1)
    train_step(model, optim, it=2)  # a finite step resets the run
    train_step(model, optim, bad=True, it=3)  # check at 4 steps: 1 in a row, goes on
    train_step(model, optim, bad=True, it=4)
    train_step(model, optim, bad=True, it=5)
    train_step(model, optim, bad=True, it=6)
    with pytest.raises(
        FloatingPointError,
        match=r'3 optimizer steps in a row \(iterations 4 to 6\); max_consecutive_skips=3 '
        r'was reached at iteration 6 \(5 skipped in all\)',
    ):
        optim.check_skips()


@pytest.mark.parametrize('optimizer_kw', [dict(fused=True), dict(foreach=True)])
def test_a_burst_ended_before_the_check_still_stops_at_its_fifth_step(optimizer_kw):
    """9 NaN steps, then a finite one, read at the 10th: the run is counted on the device as
    it goes, not as it stands at the check; the finite step after the limit changes nothing."""
    model, optim = wrapper(optimizer_kw, max_consecutive_skips=5, check_interval=10)
    weights, _ = snapshot(model, optim)
    for it in range(9):
        train_step(model, optim, bad=True, it=it)
    with pytest.raises(
        FloatingPointError,
        match=r'5 optimizer steps in a row \(iterations 1 to 5\); max_consecutive_skips=5 '
        r'was reached at iteration 5 \(9 skipped in all\)',
    ):
        train_step(model, optim, it=9)
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters(), strict=True))
    assert optim.skipped_steps == 9


def test_bad_options_are_errors():
    with pytest.raises(ValueError, match='max_consecutive_skips'):
        wrapper(dict(fused=True), max_consecutive_skips=0)


def test_large_finite_gradients_are_not_taken_for_non_finite():
    """1e30 is a finite gradient (its L2 norm overflows fp32): the step is taken."""
    model, optim = wrapper(dict(fused=True), check_interval=1)
    model.weight.register_hook(lambda g: torch.full_like(g, 1e30))
    weights, _ = snapshot(model, optim)
    train_step(model, optim)
    assert optim.skipped_steps == 0 and not torch.equal(weights[0], model.weight)
