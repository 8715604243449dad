"""End to end through tools/train_lightning.py: the demo YAML on CPU, 2-process DDP, kill -9
then --ckpt_path last, bf16-mixed."""

import glob
import io
import json
import math
import os

import numpy as np
import pytest
import torch
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from mae_plugin.checkpoints import load_checkpoint_file
from mae_plugin.monitor.layout import GAP, HEADER, upscale_factor
from tests.helpers.lightning_runs import (
    DEMO_YAML,
    checkpoint_every,
    demo_callbacks,
    run_cli,
    run_in_process,
    tiny_args,
    tiny_cli,
)


@pytest.mark.slow
def test_demo_yaml_trains_on_cpu_leaving_checkpoints_pictures_and_logs(tmp_path, demo_root):
    """The demo model as configured (64 px, 6 x 192 encoder), 20 steps: .ckpt files, PNG
    reconstructions, and TensorBoard holding loss, lr, corrupt_images, knn_top1 and the
    same picture as the PNG. The tool's function in this process: docs/lightning.md runs the
    YAML through the command line (tests/docs)."""
    root = tmp_path / 'demo'
    run_in_process(
        [
            'fit',
            '--config',
            DEMO_YAML,
            '--data.data_root',
            demo_root,
            '--trainer.default_root_dir',
            root,
            '--trainer.max_epochs',
            '4',
            '--model.warmup_epochs',
            '1',
            '--data.repeat',
            '8',
            '--data.num_workers',
            '1',
            '--trainer.log_every_n_steps',
            '1',
            '--trainer.enable_progress_bar',
            'false',
            '--trainer.callbacks',
            '[]',
            '--trainer.callbacks',
            json.dumps(demo_callbacks(demo_root, every=10)),
        ]
    )
    names = sorted(os.listdir(root / 'checkpoints'))
    assert names == ['last.ckpt', 'step_10.ckpt', 'step_20.ckpt'], names
    last = load_checkpoint_file(root / 'checkpoints' / 'last.ckpt')
    assert last['global_step'] == 20 and last['hyper_parameters']['depth'] == 6
    pngs = sorted(os.listdir(root / 'reconstructions'))
    assert pngs == ['reconstruction_10.png', 'reconstruction_20.png'], pngs
    png = np.asarray(Image.open(root / 'reconstructions' / 'reconstruction_20.png'))
    # 4 images x 4 panels of 64 px, enlarged 4x under the column names, as MMEngine's hook draws
    panel = 64 * upscale_factor(64, 64) + GAP
    assert png.shape == (HEADER + 4 * panel - GAP, 4 * panel - GAP, 3) and png.std() > 0
    assert (png[:HEADER] < 128).any()  # the column names, black on the white header

    (events,) = glob.glob(str(root / 'events.out.tfevents.*'))
    board = EventAccumulator(os.path.dirname(events), size_guidance={'images': 0, 'scalars': 0})
    board.Reload()
    assert {'loss', 'lr', 'corrupt_images', 'knn_top1'} <= set(board.Tags()['scalars'])
    losses = [e.value for e in board.Scalars('loss')]
    assert len(losses) == 20 and all(map(math.isfinite, losses))
    assert np.mean(losses[-4:]) < 0.9 * np.mean(losses[:4]), losses  # the loss falls
    assert [e.step for e in board.Scalars('knn_top1')] == [10, 20]
    assert all(0 <= e.value <= 100 for e in board.Scalars('knn_top1'))
    assert [e.value for e in board.Scalars('corrupt_images')] == [0.0] * 20
    pictures = {
        e.step: np.asarray(Image.open(io.BytesIO(e.encoded_image_string)))
        for e in board.Images('reconstruction')
    }
    assert sorted(pictures) == [10, 20] and np.array_equal(pictures[20], png)


@pytest.mark.slow
def test_two_process_ddp_on_cpu_averages_gradients(two_process_fits):
    """--trainer.accelerator cpu --trainer.devices 2 --trainer.strategy ddp: each rank steps
    with the mean of both ranks' gradients, both end with identical weights, ranks draw other
    images and other masks, and the lr counts both processes (the shared run of
    tests/conftest.py, DDPProbe among its callbacks)."""
    run = two_process_fits / 'ddp'
    out = (run / 'output.txt').read_text()
    assert 'Starting with 2 processes' in out
    ranks = [torch.load(run / 'probe' / f'probe_rank{r}.pt', weights_only=True) for r in (0, 1)]
    assert not torch.equal(ranks[0]['local'], ranks[1]['local'])  # different images
    assert not torch.equal(ranks[0]['mask'], ranks[1]['mask'])  # and different masks
    mean = (ranks[0]['local'] + ranks[1]['local']) / 2
    for rank in ranks:
        torch.testing.assert_close(rank['stepped'], mean)
    for key, value in ranks[0]['state'].items():
        assert torch.equal(value, ranks[1]['state'][key]), key
    last = load_checkpoint_file(run / 'checkpoints' / 'last.ckpt')
    assert last['global_step'] == 4  # 20 images / (batch 4 x 2 ranks) = 2 steps x 2 epochs
    assert last['mae_schedule']['lr'] == pytest.approx(0.012 * 4 * 2 / 256)
    assert last['optimizer_states'][0]['param_groups'][0]['initial_lr'] == pytest.approx(
        0.012 * 4 * 2 / 256
    )


@pytest.mark.slow
def test_kill_9_during_a_save_then_ckpt_path_last_continues(tmp_path, demo_root):
    """kill -9 while step 6's checkpoint is being written: last.ckpt is step 4's, whole;
    --ckpt_path last resumes there (weights, optimizer, schedule) and finishes the run."""
    root, log = tmp_path / 'run', str(tmp_path / 'steps.jsonl')
    record = {
        'class_path': 'tests.helpers.scripts.lightning_probes.StepRecorder',
        'init_args': {'out': log},
    }
    kill = {
        'class_path': 'tests.helpers.scripts.lightning_probes.KillDuringSave',
        'init_args': {'at': 6},
    }
    code, out = run_cli(
        ['fit', *tiny_args(root, demo_root, callbacks=[checkpoint_every(2), record, kill])],
        check=False,
    )
    assert code == -9, out[-3000:]
    left = sorted(os.listdir(root / 'checkpoints'))
    assert left == ['last.ckpt', 'step_2.ckpt', 'step_4.ckpt', 'step_6.ckpt.partial'], left
    assert load_checkpoint_file(root / 'checkpoints' / 'last.ckpt')['global_step'] == 4

    # resumed in this process (the tool's function): the command line is the kill run's
    run_in_process(
        [
            'fit',
            *tiny_args(
                root, demo_root, '--ckpt_path', 'last', callbacks=[checkpoint_every(2), record]
            ),
        ]
    )
    start = torch.load(log + '.start.pt', weights_only=True)
    saved = load_checkpoint_file(root / 'checkpoints' / 'step_4.ckpt')
    assert start['step'] == 4
    for key, value in saved['state_dict'].items():
        assert torch.equal(start['state'][key], value), key
    steps = [json.loads(line) for line in open(log)]
    assert [s['step'] for s in steps] == [0, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9]
    peak = 0.012 * 4 / 256
    for s in steps:  # 1 warm-up epoch of 5 steps, then cosine to step 10
        epoch = s['step'] / 5
        expected = (
            peak * epoch if epoch < 1 else peak * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / 1))
        )
        assert s['lr'] == pytest.approx(expected, abs=1e-12), s
    final = load_checkpoint_file(root / 'checkpoints' / 'last.ckpt')
    assert final['global_step'] == 10
    assert sorted(os.listdir(root / 'checkpoints')) == ['last.ckpt'] + [
        f'step_{n}.ckpt' for n in (10, 2, 4, 6, 8)
    ]


def test_bf16_mixed_trains_the_mae_in_bfloat16_on_cpu(tmp_path, demo_root):
    """--trainer.precision bf16-mixed: the MAE's matmuls run in bf16 in the training steps,
    weights, gradients and optimizer state stay fp32."""
    cli = tiny_cli(
        tmp_path,
        demo_root,
        '--trainer.precision',
        'bf16-mixed',
        '--model.warmup_epochs',
        '0',
        '--trainer.max_epochs',
        '1',
        callbacks=[],
    )
    dtypes = []
    mae = cli.model.mae
    for module in (mae.encoder.vit.blocks[0].attn.qkv, mae.decoder.pred):
        module.register_forward_hook(
            lambda m, args, out: dtypes.append(out.dtype) if m.training else None
        )
    cli.trainer.fit(cli.model, cli.datamodule)
    assert dtypes and set(dtypes) == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in cli.model.parameters())
    state = cli.trainer.optimizers[0].state_dict()['state']
    assert state and all(v['exp_avg'].dtype == torch.float32 for v in state.values())
    assert math.isfinite(float(cli.trainer.callback_metrics['loss']))
