"""Non-finite steps are skipped on the device and counted; a run of them stops training."""

import glob

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.logging import MessageHub
from torch import nn

from mae_plugin.engine.nonfinite import FiniteOptimWrapper
from mae_plugin.engine.registry import HOOKS
from mae_plugin.engine.runtime.launch import build_runner
from tests.helpers.mmengine_runs import TINY, cli, demo_options, in_process_cfg
from tests.helpers.models import tiny_pretrain_model as build
from tests.helpers.paths import DEMO
from tests.helpers.scripts.nan_steps import NaNStepsHook


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


class NaNAtIterations(Hook):
    """Make the decoder's output NaN at the given (0-based) iterations; record the weights
    before and after every iteration."""

    def __init__(self, bad=()):
        self.bad, self.changed = set(bad), {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.before = runner.model.mae.decoder.pred.weight.detach().clone()
        self.nan = runner.iter in self.bad

    def before_run(self, runner):
        pred = runner.model.mae.decoder.pred
        pred.register_forward_hook(lambda m, a, out: out * float('nan') if self.nan else out)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        weight = runner.model.mae.decoder.pred.weight
        self.changed[runner.iter] = not torch.equal(self.before, weight)


def run(tmp_path, demo_root, iters, bad, **cfg_extra):
    HOOKS.register_module(module=NaNAtIterations, force=True)
    hook = NaNAtIterations(bad)
    # no pictures, kNN or checkpoints but the last: the tests read the weights in memory
    quiet = {**TINY, 'default_hooks.checkpoint.interval': 1000}
    cfg = in_process_cfg(tmp_path, demo_root, iters, monitors=False, **quiet)
    cfg.optim_wrapper.optimizer.fused = True
    cfg.merge_from_dict(cfg_extra)
    runner = build_runner(cfg)
    runner.register_hook(hook)
    return runner, hook


@pytest.mark.slow
def test_runner_skips_one_nan_step_and_trains_on(tmp_path, demo_root):
    runner, hook = run(tmp_path, demo_root, 6, bad=[2])
    runner.train()
    assert hook.changed == {0: True, 1: True, 2: False, 3: True, 4: True, 5: True}
    assert runner.optim_wrapper.skipped_steps == 1
    assert runner.message_hub.get_info('skipped_steps') == 1


@pytest.mark.slow
def test_runner_stops_after_skips_in_a_row_naming_the_iteration(tmp_path, demo_root):
    runner, hook = run(tmp_path, demo_root, 12, bad=range(3, 12))
    with pytest.raises(FloatingPointError, match='was reached at iteration 8'):
        runner.train()
    assert not any(hook.changed[i] for i in range(3, 8))


def test_the_model_checks_the_loss_only_without_a_guarding_wrapper():
    from mmengine.optim import OptimWrapper

    data = dict(inputs=torch.zeros(2, 3, 32, 32, dtype=torch.uint8), data_samples=None)
    for wrapper_type, raises in ((OptimWrapper, True), (FiniteOptimWrapper, False)):
        model = build()
        model.mae.decoder.pred.register_forward_hook(lambda m, a, out: out * float('nan'))
        optim = wrapper_type(torch.optim.AdamW(model.parameters(), fused=True))
        weights = model.mae.decoder.pred.weight.detach().clone()
        if raises:
            with pytest.raises(FloatingPointError, match='non-finite loss'):
                model.train_step(data, optim)
        else:
            model.train_step(data, optim)
        assert torch.equal(weights, model.mae.decoder.pred.weight)


@pytest.mark.slow
def test_mmengine_compile_trains_through_the_guard(tmp_path, demo_root):
    # compile=True compiles the whole train_step; the guard's step runs eagerly inside it
    # dynamo's tracing without inductor's build time
    runner, hook = run(tmp_path, demo_root, 3, bad=[1], compile=dict(backend='eager'))
    runner.train()
    assert hook.changed == {0: True, 1: False, 2: True}


@pytest.mark.slow
def test_train_py_stops_a_burst_at_its_fifth_step_whatever_the_check_interval(tmp_path, demo_root):
    """tools/train.py with a config whose first 9 iterations give a NaN loss, checked every 10
    steps: stopped naming iterations 1 to 5, no weight ever changed, the skips in the log."""
    from tools.train import main as train_main

    config = tmp_path / 'nan_burst.py'
    config.write_text(
        f'_base_ = {DEMO!r}\n'
        "custom_imports = dict(imports=['mae_plugin', 'tests.helpers.scripts.nan_steps'])\n"
        "custom_hooks = [dict(type='NaNStepsHook', bad=list(range(9)))]\n"
    )
    work = tmp_path / 'run'
    options = demo_options(
        demo_root,
        12,
        100,
        **TINY,
        **{'optim_wrapper.check_interval': 10, 'optim_wrapper.optimizer.fused': True},
    )
    with pytest.raises(
        FloatingPointError,
        match=r'\(iterations 1 to 5\); max_consecutive_skips=5 was reached at iteration 5',
    ):
        train_main([str(config), '--work-dir', str(work)] + cli(options))
    hook = NaNStepsHook.runs[-1]
    assert hook.started == 10  # the check of the 10th step stopped it
    assert hook.changed == {i: False for i in range(1, 10)}
    assert torch.equal(hook.first, hook.model.mae.decoder.pred.weight)  # the 10th too
    (log,) = glob.glob(str(work / '*' / '*.log'))
    assert '9 optimizer step(s) skipped (non-finite loss or gradients)' in open(log).read()


def test_large_finite_gradients_are_not_taken_for_non_finite():
    """1e30 is a finite gradient (its L2 norm overflows fp32): the step is taken."""
    model, optim = wrapper(dict(fused=True), check_interval=1)
    model.weight.register_hook(lambda g: torch.full_like(g, 1e30))
    weights, _ = snapshot(model, optim)
    train_step(model, optim)
    assert optim.skipped_steps == 0 and not torch.equal(weights[0], model.weight)
