"""The step's two kernels alone: AdamW (foreach vs fused) over a config's MAE parameters
(``tools/benchmark.py --adamw``) and each SDPA backend at the config's attention shapes
(``--attention``).

Rounds are interleaved and the best round of each is printed: noise on a shared machine only
adds time.
"""

from __future__ import annotations

import time
import warnings

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.functional import scaled_dot_product_attention as sdpa

from mae_plugin.engine.registry import MODELS
from mae_plugin.models.attention import attention_precision

from .machine import machine_line, sync

DTYPES = (torch.float32, torch.bfloat16)


def build_mae(config: str, device: str | torch.device = 'cpu') -> nn.Module:
    """The ``MaskedAutoencoder`` of ``config``'s model (``'meta'``: shapes only, no memory)."""
    with DefaultScope.overwrite_default_scope('mae_plugin'), torch.device(device):
        return MODELS.build(Config.fromfile(config).model).mae


def attention_shapes(config: str) -> dict[str, tuple[int, int, int]]:
    """(heads, tokens, head dim) of the encoder's attention, over 1 + the visible patches, and
    of the decoder's, over 1 + all patches; ViT-B: (12, 50, 64) and (16, 197, 32)."""
    mae = build_mae(config, 'meta')
    encoder = mae.encoder.vit.blocks[0].attn
    decoder = mae.decoder.blocks[0].attn
    return {
        'encoder': (encoder.num_heads, 1 + mae.num_visible, encoder.head_dim),
        'decoder': (decoder.num_heads, 1 + mae.num_patches, decoder.head_dim),
    }


def compare_adamw(
    config: str, device: str, threads: int, iters: int = 10, rounds: int = 3
) -> dict[str, float]:
    """Print and return the best s/step of foreach and fused AdamW over ``config``'s MAE
    parameters, with random gradients."""
    torch.set_num_threads(threads)
    params = [p for p in build_mae(config, device).parameters() if p.requires_grad]
    for p in params:
        p.grad = torch.randn_like(p)
    print(
        f'{machine_line(device, threads)}; {sum(p.numel() for p in params) / 1e6:.1f} M '
        f'parameters of {config}',
        flush=True,
    )
    kinds = {'foreach': dict(foreach=True), 'fused': dict(fused=True)}
    optimizers = {
        name: torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.95), weight_decay=0.05, **kw)
        for name, kw in kinds.items()
    }
    best = {name: float('inf') for name in kinds}
    for _ in range(rounds):
        for name, optimizer in optimizers.items():
            optimizer.step()  # warm-up (the first step allocates the moments)
            sync(device)
            start = time.perf_counter()
            for _ in range(iters):
                optimizer.step()
            sync(device)
            best[name] = min(best[name], (time.perf_counter() - start) / iters)
    for name, seconds in best.items():
        print(f'{name:<8} {seconds * 1e3:8.1f} ms/step')
    print(f'fused / foreach: {best["fused"] / best["foreach"]:.2f} (below 1: fused faster)')
    return best


def compare_attention(
    config: str,
    device: str,
    threads: int,
    batch_size: int = 16,
    iters: int = 20,
    rounds: int = 3,
) -> dict[tuple[str, str, str], float]:
    """Print and return the best s per forward + backward of each SDPA backend at ``config``'s
    attention shapes, fp32 and bf16, and of what the plugin's blocks run (``'plugin'``: on a CPU
    under bf16, fp32 attention with the casts); a backend the device lacks is NaN (printed '-')."""
    torch.set_num_threads(threads)
    backends = {
        'math': SDPBackend.MATH,
        'flash': SDPBackend.FLASH_ATTENTION,
        'efficient': SDPBackend.EFFICIENT_ATTENTION,
        'plugin': None,
    }
    shapes = attention_shapes(config)
    print(f'{machine_line(device, threads)}, batch {batch_size}; ms per fwd+bwd', flush=True)

    def run(backend: SDPBackend | None, q: torch.Tensor) -> None:
        # None: what the plugin's blocks run (models/attention.py; fp32 on a CPU under bf16)
        with sdpa_kernel(backend) if backend is not None else attention_precision(q):
            sdpa(q, q, q).sum().backward()

    best: dict[tuple[str, str, str], float] = {}
    for _ in range(rounds):
        for dtype in DTYPES:
            for part, (heads, tokens, dim) in shapes.items():
                q = torch.randn(batch_size, heads, tokens, dim, device=device, dtype=dtype)
                q.requires_grad_()
                for name, backend in backends.items():
                    key = (part, str(dtype).split('.')[-1], name)
                    try:
                        with warnings.catch_warnings():  # torch warns why a backend is missing
                            warnings.simplefilter('ignore')
                            run(backend, q)
                    except RuntimeError:
                        best[key] = float('nan')
                        continue
                    sync(device)
                    start = time.perf_counter()
                    for _ in range(iters):
                        run(backend, q)
                    sync(device)
                    took = (time.perf_counter() - start) / iters
                    best[key] = min(best.get(key, float('inf')), took)
    print(f'{"part":<9}{"dtype":<10}' + ''.join(f'{n:>11}' for n in backends))
    for part in shapes:
        for dtype in DTYPES:
            name = str(dtype).split('.')[-1]
            cells = [best[(part, name, n)] for n in backends]
            row = ''.join('          -' if c != c else f'{c * 1e3:>11.2f}' for c in cells)
            print(f'{part:<9}{name:<10}{row}')
    said = '; '.join(
        f'{part}: {heads} heads x {dim} dims over {tokens} tokens'
        for part, (heads, tokens, dim) in shapes.items()
    )
    print(f'({said}; from {config}; plugin: what the MAE runs, models/attention.py)')
    return best
