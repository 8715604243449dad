"""Timing, FLOP counting and memory of one training step, each peer in its own process: the
peer table of ``tools/benchmark.py``'s default mode."""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from mae_plugin.engine.registry import MODELS

from .machine import machine_line, sync
from .peers import build_peer


def matmul_peak_flops(
    device: str, dtype: torch.dtype, size: int = 2048, repeats: int = 10, trials: int = 5
) -> float:
    """The device's own measured dense matmul rate (FLOP/s) at ``dtype``: the fastest of
    ``trials`` runs of ``repeats`` matmuls (noise only slows a run down, so a single run can
    under-state the peak and over-state every "of peak" beside it)."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    best = float('inf')
    for _ in range(trials):
        sync(device)
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 * repeats / best


def _current_rss_mib() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _autocast(device: str, amp: bool):
    if not amp:
        return nullcontext()
    dtype = torch.bfloat16
    return torch.autocast(device.split(':')[0], dtype=dtype)


def plugin_optimizer_options(cfg: Any) -> dict[str, Any]:
    """The implementation switches (``fused``, ``foreach``) of the config's AdamW."""
    optimizer = cfg.get('optim_wrapper', {}).get('optimizer', {})
    if optimizer.get('type', 'AdamW') != 'AdamW':
        raise ValueError(f'the benchmark steps AdamW; the config asks for {optimizer["type"]!r}')
    return {k: optimizer[k] for k in ('fused', 'foreach') if k in optimizer}


def training_step(
    model: torch.nn.Module,
    step_loss: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    device: str,
    amp: bool,
    adamw_options: dict[str, Any],
) -> tuple[Callable[[], None], torch.optim.Optimizer]:
    """(one training step on ``images``: zero grads, forward under autocast with ``amp``,
    backward, AdamW, the optimizer): what the peers are timed on and ``--profile`` profiles."""
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=1e-4,
        betas=(0.9, 0.95),
        weight_decay=0.05,
        **adamw_options,
    )

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with _autocast(device, amp):
            loss = step_loss(images)
        loss.backward()
        optimizer.step()

    return step, optimizer


def timed_steps(step: Callable[[], None], iters: int, device: str) -> list[float]:
    """Seconds of each of ``iters`` calls of ``step``: the fastest is the one noise touched
    least. On a GPU CUDA events time them, read once at the end (no host sync per step)."""
    if not device.startswith('cuda'):
        times = []
        for _ in range(iters):
            began = time.perf_counter()
            step()
            times.append(time.perf_counter() - began)
        return times
    events = [torch.cuda.Event(enable_timing=True) for _ in range(iters + 1)]
    events[0].record()
    for event in events[1:]:
        step()
        event.record()
    torch.cuda.synchronize()
    return [a.elapsed_time(b) / 1e3 for a, b in zip(events, events[1:], strict=False)]


def measure_peer(spec: dict[str, Any]) -> dict[str, Any]:
    """Build peer ``spec['peer']`` and time ``spec['iters']`` training steps (AdamW)."""
    torch.set_num_threads(spec['threads'])
    torch.set_flush_denormal(spec.get('flush_denormal', True))  # as training does, every peer
    torch.manual_seed(0)
    baseline_mib = _current_rss_mib()  # interpreter + imports, before any model exists
    device, batch, amp = spec['device'], spec['batch_size'], spec['amp']
    cfg = Config.fromfile(spec['config'])
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        mae = MODELS.build(cfg.model).mae
    enc_cfg = dict(
        img_size=cfg.model.encoder.get('img_size', 224),
        patch_size=cfg.model.encoder.get('patch_size', 16),
        embed_dim=cfg.model.encoder.embed_dim,
        depth=cfg.model.encoder.depth,
        num_heads=cfg.model.encoder.num_heads,
    )
    model, step_loss = build_peer(spec['peer'], mae, enc_cfg, dict(cfg.model.decoder))
    model.to(device).train()
    eager_loss = step_loss
    if spec.get('compile'):
        step_loss = torch.compile(step_loss)
    size = enc_cfg['img_size']
    images = torch.randn(batch, 3, size, size, device=device)
    # the plugin steps as its config trains (e.g. fused AdamW); the peers with torch's default
    options = plugin_optimizer_options(cfg) if spec['peer'] == 'plugin' else {}
    step, optimizer = training_step(model, step_loss, images, device, amp, options)

    # torch's FLOP counter has no formula for the fused CPU attention kernel; the math backend
    # spells attention out in bmm's, which it counts (timing below uses the fused kernel).
    with FlopCounterMode(display=False) as counter, sdpa_kernel(SDPBackend.MATH):
        optimizer.zero_grad(set_to_none=True)
        with _autocast(device, amp):
            loss = eager_loss(images)
        loss.backward()
    flops = counter.get_total_flops()
    optimizer.zero_grad(set_to_none=True)
    for _ in range(spec['warmup']):
        step()
    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    sync(device)
    start = time.perf_counter()
    steps = timed_steps(step, spec['iters'], device)
    sync(device)
    seconds = (time.perf_counter() - start) / spec['iters']
    if device.startswith('cuda'):
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        # peak resident memory of this fresh process above what the imports alone took
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - baseline_mib
    return dict(
        peer=spec['peer'],
        img_per_s=batch / seconds,
        step_s=seconds,
        fastest_img_per_s=batch / min(steps),
        gflop_per_img=flops / batch / 1e9,
        flop_per_s=flops / seconds,
        peak_mib=peak,
        params_m=sum(p.numel() for p in model.parameters()) / 1e6,
    )


def measure_in_fresh_process(spec: dict[str, Any]) -> dict[str, Any]:
    """Run :func:`measure_peer` in a spawned process so its peak memory is its own."""
    ctx = mp.get_context('spawn')
    with ctx.Pool(1) as pool:
        return pool.apply(measure_peer, (spec,))


def compare_peers(
    config: str,
    peers: list[str],
    device: str,
    threads: int,
    batch_size: int,
    iters: int,
    warmup: int,
    rounds: int,
    amp: bool = False,
    compile: bool = False,
    flush_denormal: bool = True,
) -> list[dict[str, Any]]:
    """Print and return the best round of each peer (``tools/benchmark.py``'s default mode):
    img/s, ratio to the plugin, GFLOP per image and per second, share of the measured matmul
    peak, peak memory, parameters."""
    torch.set_num_threads(threads)
    dtype = torch.bfloat16 if amp else torch.float32
    peak = matmul_peak_flops(device, dtype)
    print(
        f'{machine_line(device, threads)}, batch {batch_size}, '
        f'{"bf16 autocast" if amp else "fp32"}{", compiled" if compile else ""}'
        f'{", denormals flushed" if flush_denormal else ", denormals kept"}; '
        f'measured {dtype} matmul peak {peak / 1e9:.1f} GFLOP/s',
        flush=True,
    )
    runs: dict[str, list[dict]] = {peer: [] for peer in peers}
    for round_idx in range(rounds):
        for peer in peers:
            spec = dict(
                peer=peer,
                config=config,
                device=device,
                threads=threads,
                batch_size=batch_size,
                iters=iters,
                warmup=warmup,
                amp=amp,
                compile=compile,
                flush_denormal=flush_denormal,
            )
            result = measure_in_fresh_process(spec)
            runs[peer].append(result)
            print(
                f'  round {round_idx + 1} {peer}: {result["img_per_s"]:.2f} img/s '
                f'(fastest step {result["fastest_img_per_s"]:.2f})',
                flush=True,
            )
    rows = []
    for results in runs.values():
        row = dict(results[0])
        row['img_per_s'] = max(r['img_per_s'] for r in results)
        row['flop_per_s'] = row['img_per_s'] * row['gflop_per_img'] * 1e9
        row['peak_mib'] = max(r['peak_mib'] for r in results)
        rows.append(row)
    base = rows[0]['img_per_s'] if rows[0]['peer'] == 'plugin' else None
    print(
        f'{"peer":<12}{"img/s":>9}{"ratio":>8}{"GFLOP/img":>11}{"GFLOP/s":>10}'
        f'{"of peak":>9}{"peak MiB":>10}{"params M":>10}'
    )
    for r in rows:
        ratio = f'{base / r["img_per_s"]:.2f}x' if base else '-'
        print(
            f'{r["peer"]:<12}{r["img_per_s"]:>9.2f}{ratio:>8}{r["gflop_per_img"]:>11.1f}'
            f'{r["flop_per_s"] / 1e9:>10.1f}{r["flop_per_s"] / peak:>9.0%}'
            f'{r["peak_mib"]:>10.0f}{r["params_m"]:>10.2f}'
        )
    print(
        'img/s: best of the rounds; ratio = plugin img/s / peer img/s (above 1: plugin '
        'faster); peak MiB: above the imports (CPU: resident set; GPU: max allocated)'
    )
    return rows
