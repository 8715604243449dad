"""The FSDP2 strategy on the GPU: one process launched by torchrun (NCCL) trains the demo config
(``configs/mae_vit-t_demo_fsdp.py``) a few iterations under ``MixedPrecisionPolicy`` (bf16
compute, fp32 reduce), and its consolidated checkpoint converts to timm and loads strictly.
Dry run: gloo and fp32 on the CPU."""

from __future__ import annotations

import math
import os

import pytest
import timm
import torch
from mmengine.config import Config

from mae_plugin.checkpoints import load_checkpoint_file
from tests.helpers.mmengine_runs import cli
from tests.helpers.paths import DEMO_FSDP, ROOT, TRAIN
from tests.helpers.processes import Finished, run, torchrun
from tests.helpers.scalars import logged
from tools.convert_checkpoint import main as convert_main

pytestmark = pytest.mark.gpu
ITERS = 4


def torchrun_one_process(work: str, data_root: str) -> Finished:
    options = {
        'train_dataloader.dataset.data_root': data_root,
        'train_cfg.max_iters': ITERS,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': ITERS,
        # the monitors read data/demo/knn; off: this checks the strategy and the checkpoint
        'default_hooks.visualization': None,
        'default_hooks.knn': None,
    }
    args = [*torchrun(1), TRAIN, DEMO_FSDP, '--launcher', 'pytorch', '--work-dir', work]
    args += cli(options)
    # PYTHONPATH kept: on a GPU machine the missing packages may come from it (gpu-check docs)
    path = os.pathsep.join(p for p in (ROOT, os.environ.get('PYTHONPATH')) if p)
    return run(args, env=dict(os.environ, PYTHONPATH=path), timeout=300, check=False)


def test_fsdp2_one_gpu_process_trains_the_demo_and_converts_to_timm(
    tmp_path, demo_root, check_setup, record
):
    work = str(tmp_path / 'fsdp')
    proc = torchrun_one_process(work, demo_root)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    if check_setup.device == 'cuda':
        assert 'sharded over 1 cuda processes, bf16 compute, fp32 reduce' in out, out[-3000:]
    else:
        assert 'sharded over 1 cpu processes, fp32' in out, out[-3000:]
    losses = logged(work, 'loss')
    record(device=check_setup.device, losses=[losses[k] for k in sorted(losses)])
    assert sorted(losses) == list(range(1, ITERS + 1))
    assert all(math.isfinite(v) for v in losses.values())

    consolidated = os.path.join(work, f'iter_{ITERS}.pth')
    assert torch.serialization.get_unsafe_globals_in_checkpoint(consolidated) == []
    out_path = str(tmp_path / 'timm.pth')
    convert_main([consolidated, out_path, '--to', 'timm'])
    encoder = Config.fromfile(DEMO_FSDP).model.encoder
    vit = timm.create_model(
        'vit_base_patch16_224',
        pretrained=False,
        num_classes=0,
        img_size=encoder.img_size,
        patch_size=encoder.patch_size,
        embed_dim=encoder.embed_dim,
        depth=encoder.depth,
        num_heads=encoder.num_heads,
    )
    vit.load_state_dict(torch.load(out_path, weights_only=True), strict=True)
    state = load_checkpoint_file(consolidated)['state_dict']
    last = encoder.depth - 1
    torch.testing.assert_close(
        vit.blocks[last].mlp.fc2.weight,
        state[f'mae.encoder.vit.blocks.{last}.mlp.fc2.weight'],
        rtol=0,
        atol=0,
    )
    assert state['mae.encoder.vit.blocks.0.attn.qkv.weight'].dtype == torch.float32
