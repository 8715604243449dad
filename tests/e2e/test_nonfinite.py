"""Non-finite steps through MMEngine's runner and tools/train.py: one NaN step is skipped on the
device and counted and training goes on, a run of them stops training naming the iteration (also
compiled, and whatever the check interval), and a non-finite loss never leaves bad weights."""

import glob

import pytest
import torch

from mae_plugin.engine.runtime.launch import run_training
from tests.helpers.mmengine_runs import TINY, cli, demo_options, in_process_cfg
from tests.helpers.nan_runs import run
from tests.helpers.paths import DEMO
from tests.helpers.scripts.nan_steps import NaNStepsHook


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


@pytest.mark.slow
def test_non_finite_loss_stops_training_without_bad_weights(tmp_path, demo_root):
    cfg = in_process_cfg(
        tmp_path, demo_root, 10, monitors=False, **{**TINY, 'optim_wrapper.optimizer.lr': 1e30}
    )
    with pytest.raises(FloatingPointError, match=r'non-finite loss or gradients .* iteration \d+'):
        run_training(cfg)
    written = glob.glob(str(tmp_path / 'run' / 'iter_*.pth'))
    for path in written:
        state = torch.load(path, weights_only=True)['state_dict']
        assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
