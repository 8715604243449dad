"""End to end through MMEngine's runner: the demo job, resume, CPU DDP, AMP, non-finite loss."""

import glob
import os
import sys
import uuid

import pytest
import torch
from PIL import Image

from mae_plugin.engine.runtime.launch import build_train_config, run_training
from mae_plugin.monitor.layout import GAP, HEADER
from tests.helpers import in_process, scalars
from tests.helpers.fsdp_runs import ITERS
from tests.helpers.mmengine_runs import (
    TINY,
    cli,
    demo_options,
    in_process_cfg,
    run_cli,
    without_monitors,
)
from tests.helpers.paths import DEMO, TRAIN
from tests.helpers.scalars import logged


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


@pytest.mark.slow
def test_two_process_ddp_on_cpu_averages_gradients(two_node_runs):
    """2 CPU processes on gloo (the DDP run of tests/conftest.py, torchrun as two nodes,
    DDPProbeHook among its hooks): each rank's step uses the mean of both ranks' local
    gradients, both end with identical weights, and the lr counts both processes."""
    work = two_node_runs['ddp']
    out = open(os.path.join(work, 'output.txt')).read()
    assert 'Distributed training: True' in out and f'Iter(train) [{ITERS}/{ITERS}]' in out
    ranks = [
        torch.load(os.path.join(work, f'ddp_probe_rank{r}.pth'), weights_only=True) for r in (0, 1)
    ]
    assert not torch.allclose(ranks[0]['local'], ranks[1]['local'])  # different images
    mean = (ranks[0]['local'] + ranks[1]['local']) / 2
    for rank in ranks:
        torch.testing.assert_close(rank['stepped'], mean)
    for key, value in ranks[0]['state'].items():
        assert torch.equal(value, ranks[1]['state'][key]), key
    # batch 4 x 2 processes x 1 accumulation
    last = torch.load(os.path.join(work, f'iter_{ITERS}.pth'), weights_only=True)
    lr = last['optimizer']['param_groups'][0]['initial_lr']
    assert lr == pytest.approx(1.5e-3 * 8 / 256)


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


def test_finite_weights_hook_refuses_to_save_nan(tmp_path):
    from mae_plugin.engine.hooks import FiniteWeightsHook

    class FakeRunner:
        iter = 7

    bad = {'state_dict': {'mae.decoder.pred.weight': torch.tensor([1.0, float('nan')])}}
    with pytest.raises(FloatingPointError, match='mae.decoder.pred.weight'):
        FiniteWeightsHook().before_save_checkpoint(FakeRunner(), bad)


@pytest.mark.slow
def test_auto_resume_continues_only_the_same_schedule(tmp_path, demo_root):
    def config(iters, resume=None):
        options = without_monitors(demo_options(demo_root, iters, 2, **TINY))
        cfg = build_train_config(
            DEMO, work_dir=str(tmp_path / 'run'), resume=resume, cfg_options=options
        )
        cfg.experiment_name = f'test_{uuid.uuid4().hex[:8]}'
        return cfg

    run_training(config(4))
    runner = run_training(config(4, resume='auto'))
    assert runner.iter == 4  # picked up iter_4.pth: nothing left to train
    with pytest.raises(ValueError, match='another schedule.*train_cfg'):
        run_training(config(8, resume='auto'))
