"""FSDP for the large MAEs (ViT-H): Lightning's ``FSDPStrategy`` wrapping each transformer block.

``--trainer.strategy mae_fsdp`` (the name is registered in Lightning's strategy registry when
``mae_plugin.lightning`` is imported) shards every timm ``Block`` (the encoder's and the
decoder's) as one FSDP unit; ``mae_fsdp_activation_checkpointing`` also recomputes each block in
backward. Checkpoints are written whole by rank 0
(``state_dict_type='full'``) through ``MAECheckpointIO`` (atomic, finite weights), so they are
ordinary ``.ckpt`` files that convert and load anywhere. Resuming checks the file with
``torch.serialization.get_unsafe_globals_in_checkpoint`` before Lightning's FSDP loader (which
does not go through ``CheckpointIO``) reads it: a file needing any global beyond torch's
``weights_only`` allow-list is refused unread.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import torch
from pytorch_lightning.strategies import FSDPStrategy, StrategyRegistry
from timm.models.vision_transformer import Block

from ..checkpoints.safe_load import UnsafeCheckpointError


class MAEFSDPStrategy(FSDPStrategy):
    """``FSDPStrategy(auto_wrap_policy={timm Block}, state_dict_type='full')``.

    Args:
        sharding_strategy: FSDP's ('FULL_SHARD', 'SHARD_GRAD_OP', 'HYBRID_SHARD', 'NO_SHARD').
        activation_checkpointing: recompute each block in backward (saves activation memory).
        cpu_offload: keep parameters on the CPU between uses.
        kwargs: anything else ``FSDPStrategy`` takes (except ``state_dict_type``).
    """

    def __init__(
        self,
        sharding_strategy: Literal[
            'FULL_SHARD', 'SHARD_GRAD_OP', 'HYBRID_SHARD', 'NO_SHARD'
        ] = 'FULL_SHARD',
        activation_checkpointing: bool = False,
        cpu_offload: bool = False,
        **kwargs: Any,
    ) -> None:
        if kwargs.pop('state_dict_type', 'full') != 'full':
            raise ValueError(
                "MAEFSDPStrategy writes whole checkpoints (state_dict_type='full'):"
                ' sharded ones bypass the atomic, code-free checkpoint IO'
            )
        kwargs.setdefault('auto_wrap_policy', {Block})
        if activation_checkpointing:
            kwargs.setdefault('activation_checkpointing_policy', {Block})
        super().__init__(
            sharding_strategy=sharding_strategy,
            cpu_offload=cpu_offload,
            state_dict_type='full',
            **kwargs,
        )

    def load_checkpoint(
        self, checkpoint_path: str | os.PathLike, weights_only: bool | None = None
    ) -> dict[str, Any]:
        path = os.fspath(checkpoint_path)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f'checkpoint {path!r} does not exist (MAEFSDPStrategy '
                'resumes whole-model .ckpt files)'
            )
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        if unsafe:
            raise UnsafeCheckpointError(
                f'refused to load {path!r}: it needs globals beyond '
                f'the weights_only allow-list ({unsafe[:5]}), so it '
                'could run code. Nothing from it was executed.'
            )
        return super().load_checkpoint(checkpoint_path, weights_only=True)


for _name, _kwargs in (
    ('mae_fsdp', {}),
    ('mae_fsdp_activation_checkpointing', {'activation_checkpointing': True}),
):
    if _name not in StrategyRegistry:
        StrategyRegistry.register(
            _name,
            MAEFSDPStrategy,
            description='FSDP of the MAE, one unit per transformer block, whole checkpoints',
            **_kwargs,
        )
