"""The top operators of the plugin's MAE training step by self time (``tools/benchmark.py
--profile``): the config's model stepped as the benchmark's ``plugin`` peer is (the config's
AdamW options, bf16 autocast with ``amp``, denormals flushed), after one warm-up step."""

from __future__ import annotations

import torch
from mmengine.config import Config
from torch.profiler import ProfilerActivity, profile

from .kernels import build_mae
from .machine import machine_line, sync
from .measure import plugin_optimizer_options, training_step


def profile_step(
    config: str,
    device: str,
    threads: int,
    batch_size: int = 16,
    iters: int = 2,
    amp: bool = False,
    top: int = 15,
) -> str:
    """Print and return the operator table of ``iters`` profiled steps, sorted by self CPU
    time (self device time on a GPU)."""
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(0)
    mae = build_mae(config, device)
    switches = plugin_optimizer_options(Config.fromfile(config))
    size = mae.encoder.grid_size[0] * mae.patch_size
    images = torch.randn(batch_size, 3, size, size, device=device)
    step, _ = training_step(mae, lambda x: mae(x).loss, images, device, amp, switches)
    print(
        f'{machine_line(device, threads)}; {config}, batch {batch_size}, '
        f'{"bf16 autocast" if amp else "fp32"}, AdamW {switches or "default"}, {iters} steps',
        flush=True,
    )

    step()
    sync(device)
    gpu = device.startswith('cuda')
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if gpu else [])
    with profile(activities=activities) as prof:
        for _ in range(iters):
            step()
        sync(device)
    sort_by = 'self_device_time_total' if gpu else 'self_cpu_time_total'
    table = prof.key_averages().table(sort_by=sort_by, row_limit=top)
    print(table)
    return table
