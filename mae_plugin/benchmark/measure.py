"""Timing, FLOP counting and memory of one training step, each peer in its own process."""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
from contextlib import nullcontext
from typing import Any

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode


def matmul_peak_flops(
    device: str, dtype: torch.dtype, size: int = 2048, repeats: int = 20
) -> float:
    """The device's own measured dense matmul rate (FLOP/s) at ``dtype``."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(device)
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def _current_rss_mib() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


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


def measure_peer(spec: dict[str, Any]) -> dict[str, Any]:
    """Build peer ``spec['peer']`` and time ``spec['iters']`` training steps (AdamW)."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from ..engine.registry import MODELS
    from .peers import build_peer

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
    # the plugin steps as its config trains (e.g. fused AdamW); the peers with torch's default
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=1e-4,
        betas=(0.9, 0.95),
        weight_decay=0.05,
        **(plugin_optimizer_options(cfg) if spec['peer'] == 'plugin' else {}),
    )
    size = enc_cfg['img_size']
    images = torch.randn(batch, 3, size, size, device=device)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with _autocast(device, amp):
            loss = step_loss(images)
        loss.backward()
        optimizer.step()

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
    _sync(device)
    start = time.perf_counter()
    for _ in range(spec['iters']):
        step()
    _sync(device)
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
