"""Sharded checkpoints of MAEFSDP2Strategy: resume never runs config text and refuses
another model (in process, one rank)."""

import os

import pytest
import torch

from mae_plugin.checkpoints import load_checkpoint_file
from mae_plugin.engine.runtime.launch import build_runner
from mae_plugin.engine.runtime.sharded_checkpoint import sharded_folder
from tests.helpers.fsdp_runs import fsdp_config


def test_resume_never_runs_config_text_and_refuses_another_model(tmp_path, demo_root):
    build_runner(fsdp_config(tmp_path, demo_root, 2)).train()
    first = str(tmp_path / 'run' / 'iter_1.pth')
    assert os.path.isdir(sharded_folder(first))
    crafted = load_checkpoint_file(first)
    marker = tmp_path / 'executed'
    for key in ('config', 'cfg'):
        # runs under the stock FlexibleRunner.resume (Config.fromstring)
        crafted['meta'][key] = f"__import__('os').system('touch {marker}')\ngpu_ids = [0, 1]\n"
    torch.save(crafted, first)

    cfg = fsdp_config(tmp_path, demo_root, 2)
    cfg.resume, cfg.load_from = True, first
    runner = build_runner(cfg)
    runner.train()
    assert not marker.exists()
    assert runner.iter == 2

    other = fsdp_config(tmp_path, demo_root, 2, **{'model.decoder.depth': 2})
    other.resume, other.load_from = True, str(tmp_path / 'run' / 'iter_2.pth')
    with pytest.raises(ValueError, match='is of another model: missing from the checkpoint') as err:
        build_runner(other).train()
    assert '(12): mae.decoder.blocks.1.attn.proj.bias, ' in str(err.value)  # a whole block
    wider = fsdp_config(tmp_path, demo_root, 2, **{'model.decoder.embed_dim': 64})
    wider.resume, wider.load_from = other.resume, other.load_from
    with pytest.raises(ValueError, match='shape mismatches') as err:
        build_runner(wider).train()
    assert 'mae.decoder.blocks.0.mlp.fc2.weight: checkpoint (32, 128) vs model (64, 256)' in str(
        err.value
    )
