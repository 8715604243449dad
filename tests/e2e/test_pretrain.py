"""Pretraining end to end through MMEngine's runner (tools/train.py): the demo job writes a
checkpoint and pictures then resumes, AMP in bfloat16 on CPU, a missing data root named, the
ViT-B recipe's lr with gradient accumulation, continued pretraining from an official release, and
the digits config, whose kNN monitor scores the random encoder before the first step."""

import glob
import os
import shutil
import sys
import uuid

import pytest
import torch
from PIL import Image

from mae_plugin.engine.runtime.launch import build_train_config, run_training
from mae_plugin.monitor.layout import GAP, HEADER
from tests.helpers import in_process, scalars
from tests.helpers.mmengine_runs import TINY, cli, demo_options, in_process_cfg, run_cli
from tests.helpers.paths import DEMO, ROOT, TRAIN
from tests.helpers.releases import released
from tests.helpers.scalars import logged


def lr_of(checkpoint):
    groups = torch.load(checkpoint, weights_only=True)['optimizer']['param_groups']
    return max(group['initial_lr'] for group in groups)


DIGITS = os.path.join(ROOT, 'configs', 'mae_vit-t_digits.py')


@pytest.mark.slow
def test_demo_trains_writes_checkpoint_and_pictures_then_resumes(tmp_path, demo_root):
    work = str(tmp_path / 'demo')
    # pictures and kNN every 20 iterations; a checkpoint at 36 (and at the end) to resume from
    options = demo_options(demo_root, 40, 20, **{'default_hooks.checkpoint.interval': 36})
    run_cli([sys.executable, TRAIN, DEMO, '--work-dir', work] + cli(options))
    assert os.path.isfile(os.path.join(work, 'iter_36.pth'))
    assert os.path.isfile(os.path.join(work, 'iter_40.pth'))
    losses = logged(work, 'loss')
    first = sum(losses[i] for i in range(1, 6)) / 5
    last = sum(losses[i] for i in range(36, 41)) / 5
    assert last < 0.8 * first, losses  # the loss falls
    pictures = sorted(glob.glob(os.path.join(work, '*', 'vis_data', 'vis_image', '*.png')))
    assert any(p.endswith('reconstruction_40.png') for p in pictures), pictures
    # 4 panels x 4 images of 64 px, each enlarged 4 x, white gaps, under a header
    step = 4 * 64 + GAP
    assert Image.open(pictures[-1]).size == (4 * step - GAP, HEADER + 4 * step - GAP)
    knn = [row['knn_top1'] for rows in scalars.runs(work) for row in rows if 'knn_top1' in row]
    assert len(knn) == 3 and all(0 <= a <= 100 for a in knn)  # logged at 0, 20 and 40 only,
    # in rows of their own: a training row never repeats an old kNN value
    # weights-only readable: nothing but tensors and builtins in the file
    assert (
        torch.serialization.get_unsafe_globals_in_checkpoint(os.path.join(work, 'iter_40.pth'))
        == []
    )

    # resumed in this process (tools/train.py's functions), without the monitors it does not read
    quiet = {**options, 'default_hooks.knn': None, 'default_hooks.visualization': None}
    _, log = in_process.train(DEMO, work, quiet, '--resume', os.path.join(work, 'iter_36.pth'))
    assert 'resumed epoch: 0, iter: 36' in log
    assert 'Iter(train) [37/40]' in log and 'Iter(train) [36/40]' not in log
    resumed = logged(work, 'loss')
    assert resumed[40] == pytest.approx(losses[40], rel=1e-3)  # a true continuation


def test_amp_trains_the_mae_in_bfloat16_on_cpu(tmp_path, demo_root):
    """``--amp`` on the CPU: the MAE's matmuls run in bf16 inside a real training step, while
    weights, gradients and optimizer state stay fp32."""
    from mae_plugin.engine.runtime.amp import CPUAmpOptimWrapper
    from mae_plugin.engine.runtime.launch import build_runner

    cfg = build_train_config(
        DEMO,
        work_dir=str(tmp_path / 'amp'),
        amp=True,
        cfg_options=demo_options(demo_root, 2, 2, **TINY),
    )
    cfg.experiment_name = f'test_{uuid.uuid4().hex[:8]}'
    runner = build_runner(cfg)
    dtypes = []
    for module in (runner.model.mae.encoder.vit.blocks[0].attn.qkv, runner.model.mae.decoder.pred):
        # training steps only (the kNN monitor and the pictures evaluate in fp32)
        module.register_forward_hook(
            lambda m, args, out: dtypes.append(out.dtype) if m.training else None
        )
    runner.train()
    assert isinstance(runner.optim_wrapper, CPUAmpOptimWrapper)
    assert dtypes and set(dtypes) == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in runner.model.parameters())
    state = runner.optim_wrapper.optimizer.state_dict()['state']
    assert state and all(v['exp_avg'].dtype == torch.float32 for v in state.values())


def test_missing_data_root_names_the_path(tmp_path):
    cfg = in_process_cfg(tmp_path, str(tmp_path / 'no_such_root'), 2)
    with pytest.raises(FileNotFoundError, match='no_such_root'):
        run_training(cfg)


@pytest.mark.slow
def test_cli_continues_pretraining_from_an_official_release(tmp_path, demo_root):
    """The issue's command: released weights through --cfg-options on the B recipe's runner."""
    path, mae = released(tmp_path, 'official')
    work = str(tmp_path / 'cont')
    options = demo_options(
        demo_root,
        2,
        2,
        **TINY,
        **{'model.init_cfg.type': 'Pretrained', 'model.init_cfg.checkpoint': path},
    )
    _, out = in_process.train(DEMO, work, options)  # tools/train.py's parser and functions
    assert 'MAEPretrainModel: loaded' in out and '(official format)' in out
    assert 'resampled encoder.vit.pos_embed: grid 4x4 -> 8x8' in out
    assert 'missing keys' not in out.lower()


@pytest.mark.slow
def test_vit_b_recipe_lr_counts_gradient_accumulation(tmp_path, demo_root):
    """Batch 2, 1 process, accumulation 4: lr = 1.5e-4 x 8 / 256 (MMEngine alone: x 2 / 256)."""
    config = os.path.join(ROOT, 'configs', 'mae_vit-b_800e.py')
    work = str(tmp_path / 'b')
    options = {
        'train_dataloader.dataset.data_root': demo_root,
        'train_dataloader.batch_size': 2,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_dataloader.pin_memory': False,
        'optim_wrapper.accumulative_counts': 4,
        'train_cfg.max_epochs': 1,
        'default_hooks.visualization.interval': 1000,
        'model.encoder.embed_dim': 32,
        'model.encoder.depth': 1,
        'model.encoder.num_heads': 2,
        'model.decoder.embed_dim': 32,
        'model.decoder.depth': 1,
        'model.decoder.num_heads': 2,
    }
    _, log = in_process.train(config, work, options)  # tools/train.py's functions
    assert lr_of(os.path.join(work, 'epoch_1.pth')) == pytest.approx(1.5e-4 * 8 / 256)
    assert '(batch 2 x 1 processes x 4 accumulation) / 4096 = 8 / 4096' in log


@pytest.mark.slow
def test_the_digits_config_scores_the_random_encoder_before_training(digits_root, tmp_path):
    subset = tmp_path / 'subset'
    for split, count in (('train', 6), ('val', 2)):
        for digit in range(10):
            folder = os.path.join(digits_root, split, str(digit))
            os.makedirs(subset / split / str(digit))
            for name in sorted(os.listdir(folder))[:count]:
                shutil.copy(os.path.join(folder, name), subset / split / str(digit))
    work = str(tmp_path / 'work')
    options = {
        'train_dataloader.dataset.data_root': str(subset),
        'train_dataloader.batch_size': 16,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_cfg.max_iters': 3,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': 3,
        'default_hooks.visualization.interval': 3,
        'default_hooks.knn.data_root': str(subset),
        'default_hooks.knn.interval': 3,
    }
    # tools/train.py's functions, in this process: docs/monitoring.md runs the config through
    # the command line (tests/docs)
    _, out = in_process.train(DIGITS, work, options)
    assert 'kNN top-1 (k=20, T=0.07, avg)' in out and 'at iteration 0' in out
    (rows,) = scalars.runs(work)
    assert set(rows[0]) == {'knn_top1', 'step'} and rows[0]['step'] == 0  # before any step
    assert [r['step'] for r in rows if 'knn_top1' in r] == [0, 3]
    assert all(0 <= r['knn_top1'] <= 100 for r in rows if 'knn_top1' in r)
    assert [r['step'] for r in rows if 'loss' in r] == [1, 2, 3]
    # 32-px digits: panels enlarged 7 x to 224 px
    (picture,) = glob.glob(os.path.join(work, '*', 'vis_data', 'vis_image', '*_3.png'))
    step = 7 * 32 + GAP
    assert Image.open(picture).size == (4 * step - GAP, HEADER + 4 * step - GAP)
