"""Where the MAE's attention runs: under CPU bf16 autocast, in fp32 through torch's flash kernel.

CPU autocast casts ``scaled_dot_product_attention`` to bf16, and torch's bf16 CPU kernels are
the slowest choice at the MAE's shapes. So on a CPU the attention of bf16 tokens runs in fp32
(q, k, v upcast, flash, the output cast back): the matmuls around it stay bf16, and the attention
is both faster and more exact. GPUs keep autocast's bf16 and torch's kernel choice.

The timings behind the choice (ms per layer for each kernel and dtype, on the CPUs measured,
with the command that takes them: ``tools/benchmark.py CONFIG --attention``) are in
docs/benchmarks.md, "Attention: fp32 through the flash kernel under bf16 (adopted)".
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
    """Runs ``F.scaled_dot_product_attention`` of bf16 CPU tensors in fp32, autocast off.

    Every other call passes through unchanged. Traced by dynamo as one graph.
    """

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
    """The context the transformer blocks over ``tokens`` run in.

    Args:
        tokens: (B, N, D) input of the blocks.

    Returns:
        :class:`CPUAttentionInFloat32` on a CPU under bf16 (autocast or bf16 tokens), else a
        context that does nothing.
    """
    bf16 = tokens.dtype == torch.bfloat16 or (
        torch.is_autocast_enabled('cpu') and torch.get_autocast_dtype('cpu') == torch.bfloat16
    )
    if tokens.device.type == 'cpu' and bf16:
        return CPUAttentionInFloat32()
    return nullcontext()


def run_blocks(blocks: Iterable[nn.Module], x: Tensor, grad_checkpointing: bool = False) -> Tensor:
    """Run ``x`` through ``blocks`` in :func:`attention_precision`.

    With checkpointing each block enters the context again when recomputed in backward (a context
    around ``checkpoint_seq`` would be gone by then and the recomputation would differ from the
    forward).

    Args:
        blocks: the transformer blocks, in order.
        x: (B, N, D) tokens.
        grad_checkpointing: recompute each block in backward instead of keeping activations.

    Returns:
        (B, N, D) tokens after the last block.
    """
    if grad_checkpointing and torch.is_grad_enabled():
        return checkpoint_seq([partial(_block_in_precision, block) for block in blocks], x)
    with attention_precision(x):
        for block in blocks:
            x = block(x)
    return x


def _block_in_precision(block: nn.Module, x: Tensor) -> Tensor:
    with attention_precision(x):
        return block(x)
