"""Where the MAE's attention runs: under CPU bf16 autocast, in fp32 through torch's flash kernel.

CPU autocast casts ``scaled_dot_product_attention`` to bf16, and torch's bf16 CPU kernels are
the slowest choice at the MAE's shapes. ViT-B at batch 16, ms per forward + backward of one
layer (``tools/benchmark.py CONFIG --attention``, docs/benchmarks.md):

=====================  =======  =========  ==========  ==========  ===================
CPU                    part     bf16 math  bf16 flash  fp32 flash  bf16 in fp32 (this)
=====================  =======  =========  ==========  ==========  ===================
Xeon, AMX-BF16         encoder  9.6        28.4        6.2         8.8
Xeon, AMX-BF16         decoder  129.8      96.7        45.8        58.2
EPYC, AVX512-BF16      encoder  9.8        19.4        7.9         -
EPYC, AVX512-BF16      decoder  131.4      90.1        52.7        -
=====================  =======  =========  ==========  ==========  ===================

So on a CPU the attention of bf16 tokens runs in fp32 (q, k, v upcast, flash, the output cast
back): the matmuls around it stay bf16, and the attention is more exact, not less. GPUs keep
autocast's bf16 and torch's kernel choice.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from timm.models import checkpoint_seq
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode


class CPUAttentionInFloat32(TorchFunctionMode):
    """Runs ``F.scaled_dot_product_attention`` of bf16 CPU tensors in fp32, autocast off;
    every other call passes through unchanged. Traced by dynamo as one graph."""

    def __torch_function__(self, func, types, args=(), kwargs=None) -> Any:
        kwargs = kwargs or {}
        if func is F.scaled_dot_product_attention:
            query, key, value = args[:3]
            if query.device.type == 'cpu' and query.dtype == torch.bfloat16:
                with torch.autocast('cpu', enabled=False):
                    out = func(query.float(), key.float(), value.float(), *args[3:], **kwargs)
                return out.to(query.dtype)
        return func(*args, **kwargs)


def attention_precision(tokens: Tensor) -> AbstractContextManager:
    """The context the transformer blocks over ``tokens`` (B, N, D) run in: fp32 attention on a
    CPU under bf16 (autocast or bf16 tokens), nothing otherwise."""
    bf16 = tokens.dtype == torch.bfloat16 or (
        torch.is_autocast_enabled('cpu') and torch.get_autocast_dtype('cpu') == torch.bfloat16
    )
    if tokens.device.type == 'cpu' and bf16:
        return CPUAttentionInFloat32()
    return nullcontext()


def run_blocks(blocks: Iterable[nn.Module], x: Tensor, grad_checkpointing: bool = False) -> Tensor:
    """``x`` (B, N, D) through ``blocks`` in :func:`attention_precision`; with checkpointing each
    block enters it again when recomputed in backward (a context around ``checkpoint_seq`` would
    be gone by then and the recomputation would differ from the forward)."""
    if grad_checkpointing and torch.is_grad_enabled():
        return checkpoint_seq([partial(_block_in_precision, block) for block in blocks], x)
    with attention_precision(x):
        for block in blocks:
            x = block(x)
    return x


def _block_in_precision(block: nn.Module, x: Tensor) -> Tensor:
    with attention_precision(x):
        return block(x)
