"""AtomicCheckpointHook and FiniteWeightsHook: a NaN refused at save time leaves the last
complete checkpoint named in ``last_checkpoint``, and the hook refuses to save non-finite
weights."""

import os

import pytest
import torch
from mmengine.hooks import Hook

from tests.helpers.fsdp_runs import last_checkpoint
from tests.helpers.mmengine_runs import tiny_runner


def test_nan_at_save_time_keeps_the_previous_checkpoint(tmp_path, demo_root):
    runner = tiny_runner(
        tmp_path,
        demo_root,
        **{
            'train_cfg.max_iters': 4,
            'default_hooks.checkpoint.interval': 2,
            'default_hooks.checkpoint.max_keep_ckpts': 1,
        },
    )

    class PoisonSecondSave(Hook):
        priority = 'HIGHEST'  # before FiniteWeightsHook looks

        def before_save_checkpoint(self, runner, checkpoint):
            if runner.iter + 1 == 4:
                checkpoint['state_dict']['mae.decoder.pred.bias'] = torch.tensor(float('nan'))

    runner.register_hook(PoisonSecondSave())
    with pytest.raises(FloatingPointError, match='mae.decoder.pred.bias'):
        runner.train()
    work = str(tmp_path / 'run')
    kept = os.path.join(work, 'iter_2.pth')
    assert last_checkpoint(work) == kept
    state = torch.load(kept, weights_only=True)['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    assert not os.path.exists(os.path.join(work, 'iter_4.pth'))


def test_finite_weights_hook_refuses_to_save_nan(tmp_path):
    from mae_plugin.engine.hooks import FiniteWeightsHook

    class FakeRunner:
        iter = 7

    bad = {'state_dict': {'mae.decoder.pred.weight': torch.tensor([1.0, float('nan')])}}
    with pytest.raises(FloatingPointError, match='mae.decoder.pred.weight'):
        FiniteWeightsHook().before_save_checkpoint(FakeRunner(), bad)
