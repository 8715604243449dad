"""Runner overhead: the same MAE training step through MMEngine's runner (``tools/train.py``'s
path) and through Lightning's Trainer (``tools/train_lightning.py``'s path).

Both train the model of their config on the same in-memory batches (uint8 images + masks, as
the pipelines produce them; no decoding, so the runners themselves are what differs), with
their configs' own hooks / callbacks, logging, optimizer wrapper and scheduler. The time of one
step is the interval between consecutive batch starts (``before_train_iter`` /
``on_train_batch_start``): it holds the data fetch, forward, backward, optimizer and scheduler
steps and every per-step hook. The fastest step of a run is its cost (noise on a shared machine
only adds time); the median is reported beside it. Checkpoint writing and reconstruction
pictures are switched off (they happen after the measured steps anyway). Each run is a fresh
process.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from typing import Any
from unittest import mock

import torch
from mmengine.hooks import Hook
from torch.utils.data import DataLoader, Dataset, default_collate

from mae_plugin.engine.registry import DATASETS, HOOKS
from mae_plugin.engine.runtime.launch import build_runner, build_train_config
from mae_plugin.models.masking import make_mask

from .machine import machine_line

RUNNERS = ('mmengine', 'lightning')


class SyntheticSamples(Dataset):
    """``length`` pipeline outputs cycling over ``distinct`` fixed random images and masks."""

    def __init__(
        self,
        length: int,
        img_size: int,
        patch_size: int,
        mask_ratio: float = 0.75,
        distinct: int = 16,
        pipeline: Any = None,
        **_: Any,
    ) -> None:
        gen = torch.Generator().manual_seed(0)
        grid = (img_size // patch_size, img_size // patch_size)
        self.images = torch.randint(
            0, 256, (distinct, 3, img_size, img_size), generator=gen, dtype=torch.uint8
        )
        self.masks = torch.stack([make_mask('random', grid, mask_ratio) for _ in range(distinct)])
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        i = index % len(self.images)
        return {
            'inputs': self.images[i],
            'data_samples': {'mask': self.masks[i], 'label': torch.tensor(-1), 'num_skipped': 0},
        }


def _mmengine_step_times(spec: dict[str, Any], length: int, work: str) -> list[float]:
    starts: list[float] = []

    class StepStarts(Hook):
        def before_train_iter(self, runner, batch_idx: int, data_batch: Any = None) -> None:
            starts.append(time.perf_counter())

    DATASETS.register_module(module=SyntheticSamples, force=True)
    HOOKS.register_module(module=StepStarts, force=True)
    cfg = build_train_config(spec['config'], work_dir=work, amp=spec['amp'])
    enc = cfg.model.encoder
    cfg.train_dataloader.update(
        batch_size=spec['batch_size'],
        num_workers=0,
        persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
    )
    cfg.train_dataloader.dataset = dict(
        type='SyntheticSamples',
        length=length,
        img_size=enc.img_size,
        patch_size=enc.patch_size,
        mask_ratio=cfg.model.mask_ratio,
    )
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
    cfg.default_hooks.checkpoint = None  # MMEngine's own hook names take None
    for name in ('visualization', 'knn'):  # the plugin's are removed
        cfg.default_hooks.pop(name, None)
    cfg.custom_hooks = [dict(type='StepStarts')]
    build_runner(cfg).train()
    return starts


def _lightning_step_times(spec: dict[str, Any], length: int, work: str) -> list[float]:
    # the Lightning stack is the optional ``lightning`` extra: only this runner needs it
    import pytorch_lightning as pl

    from mae_plugin.lightning.cli import MAELightningCLI

    starts: list[float] = []

    class StepStarts(pl.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
            starts.append(time.perf_counter())

    args = [
        '--config',
        spec['lightning_config'],
        '--trainer.default_root_dir',
        work,
        '--trainer.max_epochs',
        '1',
        '--model.warmup_epochs',
        '0',
        '--trainer.callbacks',
        '[]',
        '--trainer.enable_checkpointing',
        'false',
        '--trainer.accelerator',
        'gpu' if spec['device'].startswith('cuda') else 'cpu',
        '--trainer.devices',
        '1',
    ]
    if spec['amp']:
        args += ['--trainer.precision', 'bf16-mixed']
    with mock.patch.object(sys, 'argv', sys.argv[:1]):  # the CLI reads only ``args``
        cli = MAELightningCLI(args=args, run=False)
    cli.trainer.callbacks.append(StepStarts())
    mae = cli.model.mae
    samples = SyntheticSamples(
        length, mae.encoder.grid_size[0] * mae.patch_size, mae.patch_size, mae.mask_ratio
    )
    cli.trainer.fit(
        cli.model, DataLoader(samples, batch_size=spec['batch_size'], collate_fn=default_collate)
    )
    return starts


def measure_runner(spec: dict[str, Any]) -> dict[str, Any]:
    """Time ``spec['iters']`` steps after ``spec['warmup']`` of runner ``spec['runner']``."""
    torch.set_num_threads(spec['threads'])
    torch.manual_seed(0)
    steps = spec['warmup'] + spec['iters'] + 1  # + 1: the last interval needs a next start
    with tempfile.TemporaryDirectory() as work:
        timer = _mmengine_step_times if spec['runner'] == 'mmengine' else _lightning_step_times
        starts = timer(spec, steps * spec['batch_size'], os.path.join(work, 'run'))
    if len(starts) != steps:
        raise RuntimeError(f'{spec["runner"]}: {len(starts)} steps ran, {steps} expected')
    times = [b - a for a, b in zip(starts[:-1], starts[1:], strict=True)][spec['warmup'] :]
    # the fastest step is the runner's own cost: on a shared machine noise only adds time
    return dict(
        runner=spec['runner'],
        min_s=min(times),
        median_s=statistics.median(times),
        img_per_s=spec['batch_size'] / min(times),
        times=times,
    )


def measure_runner_in_fresh_process(spec: dict[str, Any]) -> dict[str, Any]:
    """Run :func:`measure_runner` in a spawned process: each runner starts from nothing."""
    with mp.get_context('spawn').Pool(1) as pool:
        return pool.apply(measure_runner, (spec,))


def compare_runners(
    config: str,
    lightning_config: str,
    device: str,
    threads: int,
    batch_size: int,
    iters: int,
    warmup: int,
    rounds: int,
    amp: bool = False,
) -> dict[str, dict[str, float]]:
    """Print and return the best round of each runner (``tools/benchmark.py --runners``):
    fastest and median s/step, rounds interleaved."""
    print(
        f'{machine_line(device, threads)}, batch {batch_size}, '
        f'{"bf16 autocast" if amp else "fp32"}; {config} vs {lightning_config}',
        flush=True,
    )
    best: dict[str, dict[str, float]] = {}
    for round_idx in range(rounds):
        for runner in RUNNERS:
            spec = dict(
                runner=runner,
                config=config,
                lightning_config=lightning_config,
                device=device,
                threads=threads,
                batch_size=batch_size,
                iters=iters,
                warmup=warmup,
                amp=amp,
            )
            result = measure_runner_in_fresh_process(spec)
            steps = ' '.join(f'{t:.3f}' for t in result['times'])
            print(
                f'  round {round_idx + 1} {runner}: fastest {result["min_s"]:.3f}, median '
                f'{result["median_s"]:.3f} s/step (steps: {steps})',
                flush=True,
            )
            for key in ('min_s', 'median_s'):
                best.setdefault(runner, {})[key] = min(
                    best.get(runner, {}).get(key, 1e9), result[key]
                )
    print(f'{"runner":<12}{"fastest s/step":>16}{"img/s":>9}{"median s/step":>15}')
    for runner, result in best.items():
        print(
            f'{runner:<12}{result["min_s"]:>16.3f}{batch_size / result["min_s"]:>9.2f}'
            f'{result["median_s"]:>15.3f}'
        )
    for key, what in (('min_s', 'fastest step'), ('median_s', 'median step')):
        print(
            f'lightning / mmengine, {what}: '
            f'{best["lightning"][key] / best["mmengine"][key]:.3f} (best round of each; '
            'above 1: Lightning slower)'
        )
    return best
