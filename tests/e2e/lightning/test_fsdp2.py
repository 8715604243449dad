"""--trainer.strategy mae_fsdp2 (torch's FSDP2 through Lightning's ModelParallelStrategy) on 2 CPU
processes: the same training as DDP, sharded parameters, whole checkpoints that resume and
convert."""

import json
import os

import pytest
import torch

from mae_plugin.checkpoints import load_checkpoint_file
from tests.helpers.lightning_runs import (
    checkpoint_every,
    step_recorder,
    two_process_fit,
)
from tests.helpers.models import tiny_timm_vit

pytestmark = pytest.mark.slow


def weights(root):
    return load_checkpoint_file(os.path.join(root, 'checkpoints', 'last.ckpt'))


def test_fsdp2_trains_and_resumes_as_ddp_does_and_its_checkpoint_loads_into_timm(
    tmp_path, demo_root, two_process_fits
):
    """Same seed and data: FSDP2 and DDP end 4 steps with the same weights; both resumed from
    their own step-2 checkpoint agree again at step 4 (FSDP2's optimizer state and schedule
    came back through the whole checkpoint); the FSDP2 .ckpt converts to timm."""
    fits = {name: two_process_fits / name for name in ('mae_fsdp2', 'ddp')}
    assert 'Starting with 2 processes' in (fits['mae_fsdp2'] / 'output.txt').read_text()
    sharded, replicated = weights(fits['mae_fsdp2']), weights(fits['ddp'])
    assert sharded['global_step'] == replicated['global_step'] == 4
    assert sharded['state_dict'].keys() == replicated['state_dict'].keys()
    for key, value in replicated['state_dict'].items():
        torch.testing.assert_close(sharded['state_dict'][key], value, rtol=1e-5, atol=1e-6)

    # every rank held about half of every block's parameters, not all of them
    probe = fits['mae_fsdp2'] / 'probe'
    held = [torch.load(probe / f'rank{r}.pt', weights_only=True) for r in (0, 1)]
    total = sum(v.numel() for v in replicated['state_dict'].values())
    for rank in held:
        assert rank['sharded'] and rank['local'] < 0.6 * total, (rank, total)
    assert held[0]['local'] + held[1]['local'] >= total

    # resumed runs draw other masks than the first ones (fresh random state), alike in both
    for name, fit in fits.items():
        log = tmp_path / f'{name}.jsonl'
        callbacks = [checkpoint_every(2), step_recorder(log)]
        step_2 = fit / 'checkpoints' / 'step_2.ckpt'
        two_process_fit(
            tmp_path / name, demo_root, name, '--ckpt_path', step_2, callbacks=callbacks
        )
        steps = sorted(json.loads(line)['step'] for line in open(log))  # both ranks write
        assert steps == [2, 2, 3, 3], name
    sharded, replicated = weights(tmp_path / 'mae_fsdp2'), weights(tmp_path / 'ddp')
    assert sharded['global_step'] == replicated['global_step'] == 4
    for key, value in replicated['state_dict'].items():
        torch.testing.assert_close(sharded['state_dict'][key], value, rtol=1e-5, atol=1e-6)

    from tools.convert_checkpoint import main as convert

    out = tmp_path / 'vit.pth'
    convert([str(tmp_path / 'mae_fsdp2' / 'checkpoints' / 'last.ckpt'), str(out), '--to', 'timm'])
    vit = tiny_timm_vit()
    vit.load_state_dict(torch.load(out, weights_only=True), strict=True)
