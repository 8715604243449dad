"""Fine-tuning and linear probing end to end: tools/train.py, then tools/test.py, from an MAE
checkpoint written by the plugin, on tiles of real photographs (one class per photograph),
through the functions the tools call, in the test process: docs/finetuning.md runs the same
configs through the tools' command lines (tests/docs), and tests/e2e/test_rank_errors.py
runs tools/test.py of the fine-tuning config on 2 processes."""

import os

import pytest
import torch

from tests.helpers import in_process
from tests.helpers.mmengine_runs import finetune_options as options
from tests.helpers.paths import ROOT


@pytest.fixture
def pretrained(pretrained_64):
    return pretrained_64  # a plugin checkpoint of a depth-2 MAE at 64 px, patch 8


def train_then_test_in_process(config, work, demo_root, checkpoint, loaded):
    """``tools/train.py`` then ``tools/test.py`` of its last checkpoint, through the tools'
    functions in this process (in_process.py): the encoder loaded from ``checkpoint`` (``loaded``
    tensors), accuracies logged. Returns the trained state dict."""
    opts = options(demo_root, checkpoint)
    _, log = in_process.train(config, work, opts)
    assert f'MAEClassifier: loaded {loaded} tensors' in log and '(plugin format)' in log
    assert 'accuracy/top1' in log and 'accuracy/top5' in log
    trained = os.path.join(work, 'iter_6.pth')
    metrics, _ = in_process.evaluate(config, trained, os.path.join(work, 'test'), opts)
    assert 0 <= metrics['accuracy/top1'] <= metrics['accuracy/top5'] <= 100
    return torch.load(trained, weights_only=True)['state_dict']


@pytest.mark.slow
def test_finetuning_from_a_plugin_checkpoint(tmp_path, demo_root, pretrained):
    path, mae = pretrained
    config = os.path.join(ROOT, 'configs', 'cls', 'vit-t-mae_finetune_demo.py')
    # 2 blocks x 12 + 4 embedding tensors; the final norm is dropped for fc_norm
    state = train_then_test_in_process(config, str(tmp_path / 'ft'), demo_root, path, loaded=28)
    # every encoder weight moved (layer decay scales the steps, none is frozen)
    before = mae.encoder.vit.state_dict()
    assert not torch.equal(
        state['classifier.vit.blocks.0.attn.qkv.weight'], before['blocks.0.attn.qkv.weight']
    )
    assert not torch.equal(state['classifier.vit.pos_embed'], before['pos_embed'])
    assert 'classifier.vit.fc_norm.weight' in state and 'classifier.vit.norm.weight' not in state


@pytest.mark.slow
def test_linear_probe_keeps_the_encoder_frozen(tmp_path, demo_root, pretrained):
    path, mae = pretrained
    config = os.path.join(ROOT, 'configs', 'cls', 'vit-t-mae_linprobe_demo.py')
    state = train_then_test_in_process(config, str(tmp_path / 'lp'), demo_root, path, loaded=30)
    for name, value in mae.encoder.vit.state_dict().items():
        torch.testing.assert_close(state[f'classifier.vit.{name}'], value, rtol=0, atol=0)
    assert 'classifier.vit.head.0.weight' not in state  # BatchNorm without affine
    assert state['classifier.vit.head.0.num_batches_tracked'] == 6
    assert state['classifier.vit.head.1.weight'].std() > 0.01 * 0.5


@pytest.mark.slow
def test_finetuning_with_amp_on_cpu(tmp_path, demo_root, pretrained):
    """``--amp`` on the CPU: the plugin's bf16 wrapper; weights stay fp32."""
    path, _ = pretrained
    config = os.path.join(ROOT, 'configs', 'cls', 'vit-t-mae_finetune_demo.py')
    work = str(tmp_path / 'ft_amp')
    runner, log = in_process.train(config, work, options(demo_root, path), '--amp')
    assert "type='mae_plugin.CPUAmpOptimWrapper'" in log and 'accuracy/top1' in log
    assert type(runner.optim_wrapper).__name__ == 'CPUAmpOptimWrapper'
    state = torch.load(os.path.join(work, 'iter_6.pth'), weights_only=True)['state_dict']
    assert all(v.dtype == torch.float32 for v in state.values() if v.is_floating_point())
