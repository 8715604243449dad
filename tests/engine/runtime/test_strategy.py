"""MAEFSDP2Strategy under MAEFlexibleRunner: the configs run the flexible runner with the
strategy and the hooks; activation checkpointing recomputes each block and keeps the loss (in
process, one rank)."""

import os

import pytest
import torch
from mmengine.config import Config

from mae_plugin.engine.runtime.launch import build_runner
from tests.helpers.fsdp_runs import fsdp_config
from tests.helpers.paths import ROOT

FSDP_CONFIGS = ['mae_vit-t_demo_fsdp.py', 'mae_vit-h_1600e_fsdp.py', 'mae_vit-g_1600e_fsdp.py']


@pytest.mark.parametrize('name', FSDP_CONFIGS)
def test_configs_run_the_flexible_runner_with_the_strategy_and_the_hooks(name):
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', name))
    assert cfg.runner_type == 'mae_plugin.MAEFlexibleRunner'
    assert cfg.strategy.type == 'mae_plugin.MAEFSDP2Strategy'
    hooks = {h['type'].split('.')[-1] for h in cfg.default_hooks.values() if h is not None}
    assert {'AtomicCheckpointHook', 'FiniteWeightsHook', 'WeightsOnlyResumeHook'} <= hooks
    assert 'ResumeScheduleGuardHook' in hooks and 'ReconstructionVisHook' in hooks


def test_activation_checkpointing_recomputes_each_block_and_keeps_the_loss(tmp_path, demo_root):
    results = []
    for recompute in (False, True):
        cfg = fsdp_config(tmp_path, demo_root, 1, work=f'ac_{recompute}')
        cfg.strategy.activation_checkpointing = recompute
        runner = build_runner(cfg)
        runner.train()  # builds and shards the model, one step
        model, calls = runner.model, []
        for block in [*model.mae.encoder.vit.blocks, *model.mae.decoder.blocks]:
            block.mlp.fc1.register_forward_hook(lambda *_, seen=calls: seen.append(1))
        torch.manual_seed(0)
        batch = next(iter(runner.train_dataloader))
        loss = model.train_step(batch, runner.optim_wrapper)['loss']
        results.append((len(calls), loss))
    # 3 blocks: forward once; with recomputation once more in backward (seen inside the block)
    assert [n for n, _ in results] == [3, 6]
    torch.testing.assert_close(results[1][1], results[0][1], rtol=0, atol=0)
