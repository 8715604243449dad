"""Memory per GPU on paper, DDP against ``MAEFSDP2Strategy`` (docs/scaling.md).

Model state: fp32 weights (4 bytes x P), fp32 gradients and AdamW's two moments (4 + 8 bytes x
P_t, the trained parameters), whole under DDP, 1/N per rank when sharded, plus, sharded, the
blocks gathered for compute: the bf16 weights of the running and the prefetched block, the
block's bf16 gradients and their fp32 copy for the reduce-scatter, 10 bytes x the largest
block's parameters.

Activations saved for backward, bf16, per token of a pre-norm block of width D and MLP width H
(fused attention, no dropout): both LayerNorm inputs and outputs, q, k, v, the attention output,
the projection input and the MLP hidden layer before and after GELU, 2 x (9 D + 2 H) bytes.
With activation checkpointing a block keeps its input (2 D bytes per token) and the largest
block's activations are live once, while it recomputes.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

BF16 = 2
GATHERED_BYTES_PER_BLOCK_PARAM = 2 + 2 + 2 + 4  # two blocks' bf16 weights, bf16 + fp32 grads


@dataclass
class MemoryModel:
    """What the estimate needs from an MAE; bytes per image and per GPU."""

    params: int
    trained: int
    largest_block: int
    activations_per_image: int
    checkpointed_per_image: int

    def states(self, processes: int = 1, sharded: bool = False) -> float:
        """Weights + gradients + AdamW (+ gathered blocks when sharded), bytes per process."""
        whole = 4 * self.params + (4 + 8) * self.trained
        if not sharded:
            return float(whole)
        return whole / processes + GATHERED_BYTES_PER_BLOCK_PARAM * self.largest_block

    def per_gpu(
        self, images: int, processes: int, sharded: bool, checkpointing: bool = False
    ) -> float:
        """Bytes per GPU at ``images`` per GPU."""
        per_image = self.checkpointed_per_image if checkpointing else self.activations_per_image
        return self.states(processes, sharded) + images * per_image


def _block_bytes(block: nn.Module, tokens: int) -> int:
    width = block.norm1.normalized_shape[0]
    hidden = block.mlp.fc1.out_features
    return BF16 * (9 * width + 2 * hidden) * tokens


def memory_model(mae: nn.Module, mask_ratio: float = 0.75) -> MemoryModel:
    """Counts of a ``MaskedAutoencoder`` (real or on the ``meta`` device)."""
    patches = mae.encoder.grid_size[0] * mae.encoder.grid_size[1]
    tokens = {
        'encoder': patches - int(patches * mask_ratio) + 1,  # visible patches + cls
        'decoder': patches + 1,
    }
    blocks = [(b, tokens['encoder']) for b in mae.encoder.vit.blocks]
    blocks += [(b, tokens['decoder']) for b in mae.decoder.blocks]
    full = [_block_bytes(b, t) for b, t in blocks]
    kept = sum(BF16 * b.norm1.normalized_shape[0] * t for b, t in blocks)
    return MemoryModel(
        params=sum(p.numel() for p in mae.parameters()),
        trained=sum(p.numel() for p in mae.parameters() if p.requires_grad),
        largest_block=max(sum(p.numel() for p in b.parameters()) for b, _ in blocks),
        activations_per_image=sum(full),
        checkpointed_per_image=kept + max(full),
    )


def memory_table(
    models: dict[str, MemoryModel], processes: int = 8, images: tuple[int, ...] = (64, 128, 256)
) -> str:
    """Markdown rows: GiB per GPU for each model under DDP and sharded, without and with
    activation checkpointing (AC)."""
    gib = 2**30
    head = ['model', 'strategy', 'states']
    head += [f'{n} img' for n in images] + [f'{n} img, AC' for n in images]
    lines = ['| ' + ' | '.join(head) + ' |', '| --- | --- |' + ' ---: |' * (len(head) - 2)]
    for name, model in models.items():
        for label, sharded in (('DDP', False), (f'FSDP2 x {processes}', True)):
            cells = [f'{name} ({model.params / 1e6:.0f} M)', label]
            cells.append(f'{model.states(processes, sharded) / gib:.1f}')
            for checkpointing in (False, True):
                cells += [
                    f'{model.per_gpu(n, processes, sharded, checkpointing) / gib:.1f}'
                    for n in images
                ]
            lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)
