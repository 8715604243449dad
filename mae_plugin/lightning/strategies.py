"""Sharded training of the large MAEs (ViT-H and beyond) on Lightning.

``--trainer.strategy mae_fsdp2`` (FSDP2, ``MAEFSDP2Strategy``: torch's ``fully_shard`` per block
through Lightning's ``ModelParallelStrategy``) runs on GPUs and CPUs alike;
``mae_fsdp2_activation_checkpointing`` also recomputes each block in backward.

``--trainer.strategy mae_fsdp`` (FSDP1, GPUs only: torch's FSDP1 refuses CPU devices) shards
every timm ``Block`` (the encoder's and the decoder's) as one FSDP unit;
``mae_fsdp_activation_checkpointing`` also recomputes each block in backward.

Both write whole checkpoints from rank 0 through ``MAECheckpointIO`` (atomic, finite weights):
ordinary ``.ckpt`` files that convert and load anywhere. Resuming checks the file with
``torch.serialization.get_unsafe_globals_in_checkpoint`` before Lightning's own loader (which
does not go through ``CheckpointIO``) reads it: a file needing any global beyond torch's
``weights_only`` allow-list is refused unread. The names are registered in Lightning's strategy
registry when ``mae_plugin.lightning`` is imported.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import torch
from pytorch_lightning.strategies import FSDPStrategy, ModelParallelStrategy, StrategyRegistry
from timm.models.vision_transformer import Block

from ..checkpoints import UnsafeCheckpointError


def refuse_unsafe(path: str, strategy: str) -> None:
    """Raise unless ``path`` is a file that needs no global beyond the ``weights_only`` allow-list.

    Checked before Lightning's own loader, which does not go through ``CheckpointIO``.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        UnsafeCheckpointError: the file needs other globals, listing some; nothing is run.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f'checkpoint {path!r} does not exist ({strategy} resumes whole-model .ckpt files)'
        )
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    if unsafe:
        raise UnsafeCheckpointError(
            f'refused to load {path!r}: it needs globals beyond the weights_only allow-list '
            f'({unsafe[:5]}), so it could run code. Nothing from it was executed.'
        )


class _CodeFreeResume:
    """Refuses a checkpoint that could run code before the strategy's own loader reads it."""

    def load_checkpoint(
        self, checkpoint_path: str | os.PathLike, weights_only: bool | None = None
    ) -> dict[str, Any]:
        """The strategy's own load, with ``weights_only=True``, once the file is found safe."""
        refuse_unsafe(os.fspath(checkpoint_path), type(self).__name__)
        return super().load_checkpoint(checkpoint_path, weights_only=True)


class MAEFSDPStrategy(_CodeFreeResume, FSDPStrategy):
    """``FSDPStrategy(auto_wrap_policy={timm Block}, state_dict_type='full')``.

    Args:
        sharding_strategy: FSDP's ('FULL_SHARD', 'SHARD_GRAD_OP', 'HYBRID_SHARD', 'NO_SHARD').
        activation_checkpointing: recompute each block in backward (saves activation memory).
        cpu_offload: keep parameters on the CPU between uses.
        **kwargs: anything else ``FSDPStrategy`` takes (except ``state_dict_type``).
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


class MAEFSDP2Strategy(_CodeFreeResume, ModelParallelStrategy):
    """FSDP2 (torch's ``fully_shard``) of the MAE through Lightning's ``ModelParallelStrategy``.

    Every timm ``Block`` of encoder and decoder is one unit and the module is the root; the
    parameters are DTensors sharded over all processes (no tensor parallelism). Unlike FSDP1 it
    runs on CPUs (gloo) as well as on GPUs, so it is tested here.

    Checkpoints are whole (``save_distributed_checkpoint=False``): gathered to rank 0 and
    written through ``MAECheckpointIO`` (atomic, finite weights), the same ``.ckpt`` as DDP's.
    Resuming refuses a file that needs any global beyond torch's ``weights_only`` allow-list.

    Args:
        activation_checkpointing: recompute each block in backward.
        bf16_params: compute in bf16 with fp32 gradient reduction (FSDP2's
            ``MixedPrecisionPolicy``); GPUs only, as in the MMEngine strategy.
        **kwargs: anything else ``ModelParallelStrategy`` takes, except the parallel sizes.
    """

    def __init__(
        self, activation_checkpointing: bool = False, bf16_params: bool = False, **kwargs: Any
    ) -> None:
        for fixed in ('data_parallel_size', 'tensor_parallel_size', 'save_distributed_checkpoint'):
            if fixed in kwargs:
                raise ValueError(f'MAEFSDP2Strategy sets {fixed} itself (got {kwargs[fixed]!r})')
        super().__init__(save_distributed_checkpoint=False, **kwargs)
        self.activation_checkpointing = activation_checkpointing
        self.bf16_params = bf16_params

    def setup_environment(self) -> None:
        """Set up one data-parallel mesh dimension over every process, no tensor parallelism."""
        # pure data parallelism: one mesh dimension over every process of every node
        self._data_parallel_size = self.num_nodes * self.num_processes
        self._tensor_parallel_size = 1
        super().setup_environment()

    def shard(self, mae: torch.nn.Module) -> None:
        """``fully_shard`` every timm ``Block`` of ``mae``, then its encoder and decoder, then it.

        ``mae`` is a ``MaskedAutoencoder``, the root unit; called from
        ``MAELightningModule.configure_model`` once the device mesh exists. The encoder is a
        unit of its own because the kNN monitor and the pictures call it directly; FSDP2
        gathers a unit's parameters only in that unit's own forward.

        Raises:
            ValueError: ``bf16_params`` on a CPU.
        """
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        if self.bf16_params and self.root_device.type != 'cuda':
            raise ValueError('MAEFSDP2Strategy(bf16_params=True) needs GPUs; on CPU use fp32')
        policy = (
            MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
            if self.bf16_params
            else MixedPrecisionPolicy()
        )
        if self.activation_checkpointing:
            from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import (
                apply_activation_checkpointing,
            )

            apply_activation_checkpointing(mae, check_fn=lambda m: isinstance(m, Block))
        mesh = self.device_mesh['data_parallel']
        for unit in [m for m in mae.modules() if isinstance(m, Block)] + [
            mae.encoder,
            mae.decoder,
            mae,
        ]:
            fully_shard(unit, mesh=mesh, mp_policy=policy)


_STRATEGIES = {
    'mae_fsdp': (MAEFSDPStrategy, 'FSDP1 of the MAE (GPUs), one unit per block, whole checkpoints'),
    'mae_fsdp2': (
        MAEFSDP2Strategy,
        'FSDP2 of the MAE (CPU, GPU), one unit per block, whole checkpoints',
    ),
}
for _name, (_strategy, _description) in _STRATEGIES.items():
    for _suffix, _kwargs in (
        ('', {}),
        ('_activation_checkpointing', {'activation_checkpointing': True}),
    ):
        if _name + _suffix not in StrategyRegistry:
            StrategyRegistry.register(
                _name + _suffix, _strategy, description=_description, **_kwargs
            )
