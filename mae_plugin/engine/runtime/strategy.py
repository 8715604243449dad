"""``MAEFSDP2Strategy``: MMEngine's FlexibleRunner strategy on torch's FSDP2 (``fully_shard``).

MMEngine 0.10.7 has no strategy for FSDP2; its ``FSDPStrategy`` wraps the old FSDP, pins
``device_id=LOCAL_RANK`` and refuses CPUs. This one shards every encoder and decoder block and
then the root (patch embedding, tokens, norms, prediction head), so each rank holds 1/N of the
weights, gradients and AdamW state; a block's weights are gathered only while it runs.

- GPUs: ``MixedPrecisionPolicy(param_dtype=bf16, reduce_dtype=fp32)``; CPUs (gloo): fp32.
- ``activation_checkpointing=True``: every block recomputes its activations in backward
  (torch's composable ``checkpoint``, which keeps parameter names, so checkpoints don't change).
- The optimizer is built over the sharded (DTensor) parameters by MMEngine's constructor, so
  ``paramwise_cfg`` (no weight decay on norms, biases, tokens, position tables) applies as ever.
- lr = base x (batch x processes x accumulation) / base batch (``runner_rules.scale_lr``).
- Checkpoints: sharded (``torch.distributed.checkpoint``) plus a consolidated plugin file; see
  ``sharded_checkpoint.py``. They resume at any world size (with ``auto_scale_lr`` the lr is
  rescaled to the new layout, ``rescale.py``); loading is strict.
- Without a launcher (one process, no process group) nothing is sharded: the model runs whole
  and still reads and writes the sharded checkpoints (resume a 2-rank run on one process).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import mmengine
import torch
import torch.distributed as dist
from mmengine._strategy import DDPStrategy
from mmengine.dist import init_dist, is_distributed
from torch import nn
from torch.distributed._composable import checkpoint
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

from ...checkpoints import load_checkpoint_file
from ..pretrain.model import MAEPretrainModel
from ..registry import STRATEGIES
from .runner_rules import scale_lr
from .sharded_checkpoint import (
    agree_or_raise,
    full_model_state,
    load_sharded,
    save_sharded,
    set_optimizer_state,
    sharded_folder,
)

BASE_SETTINGS = 'base_param_settings'  # OptimWrapper's extra group, beside the shards


def transformer_blocks(model: MAEPretrainModel) -> list[nn.Module]:
    """The encoder's and the decoder's transformer blocks: the units that are sharded."""
    return [*model.mae.encoder.vit.blocks, *model.mae.decoder.blocks]


@STRATEGIES.register_module()
class MAEFSDP2Strategy(DDPStrategy):
    """FSDP2 sharding of ``MAEPretrainModel`` for ``MAEFlexibleRunner``; see the module docstring.

    Args:
        activation_checkpointing: recompute each block's activations in backward.
        reshard_after_forward: free a block's gathered weights after its forward (gather again
            in backward): less memory, one more all-gather per block and step.
        **kwargs: ``BaseStrategy``'s (work_dir, auto_scale_lr, env_kwargs, ...), which
            FlexibleRunner fills in.
    """

    def __init__(
        self,
        *,
        activation_checkpointing: bool = False,
        reshard_after_forward: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.activation_checkpointing = activation_checkpointing
        self.reshard_after_forward = reshard_after_forward
        self._resuming = False

    def _setup_distributed(self, launcher: str = 'pytorch', backend: str = 'nccl', **kwargs: Any):
        if is_distributed():
            return
        if torch.cuda.is_available():
            init_dist(launcher, backend, **kwargs)
        elif launcher == 'pytorch':
            dist.init_process_group(backend='gloo')  # MMEngine's init wants CUDA
        else:
            raise RuntimeError(f'launcher {launcher!r} without a GPU: use torchrun (pytorch)')

    def _device(self) -> torch.device:
        if torch.cuda.is_available():
            return torch.device('cuda', int(os.environ.get('LOCAL_RANK', 0)))
        return torch.device('cpu')

    def _wrap_model(self, model: nn.Module) -> nn.Module:
        if not isinstance(model, MAEPretrainModel):
            raise TypeError(f'MAEFSDP2Strategy shards MAEPretrainModel, not {type(model).__name__}')
        device = self._device()
        model = model.to(device)
        if self.activation_checkpointing:
            for block in transformer_blocks(model):
                checkpoint(block)
        if not (dist.is_available() and dist.is_initialized()):
            self.logger.info('MAEFSDP2Strategy: one process without a launcher, nothing sharded')
            return model
        # DDP starts every rank from rank 0's weights; fully_shard keeps each rank's own slice,
        # which differ when ranks draw their seeds apart (diff_rank_seed): broadcast first.
        with torch.no_grad():
            for tensor in [*model.parameters(), *model.buffers()]:
                dist.broadcast(tensor.data, src=0)
        mesh = init_device_mesh(device.type, (dist.get_world_size(),))
        on_gpu = device.type == 'cuda'
        policy = (
            MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
            if on_gpu
            else MixedPrecisionPolicy()
        )
        for block in transformer_blocks(model):
            fully_shard(
                block, mesh=mesh, mp_policy=policy, reshard_after_forward=self.reshard_after_forward
            )
        root_policy = (
            MixedPrecisionPolicy(
                param_dtype=torch.bfloat16, reduce_dtype=torch.float32, output_dtype=torch.float32
            )
            if on_gpu
            else policy
        )
        fully_shard(model, mesh=mesh, mp_policy=root_policy)
        self.logger.info(
            f'MAEFSDP2Strategy: {len(transformer_blocks(model))} blocks + root sharded over '
            f'{dist.get_world_size()} {device.type} processes, '
            f'{"bf16 compute, fp32 reduce" if on_gpu else "fp32"}, activation checkpointing '
            f'{"on" if self.activation_checkpointing else "off"}'
        )
        return model

    def _scale_lr(self) -> None:
        scale_lr(
            self.optim_wrapper,
            self._auto_scale_lr,
            self.dispatch_kwargs['train_micro_batch_size_per_gpu'],
            self.world_size,
            getattr(self, 'param_schedulers', None),
            self.logger,
        )

    def save_checkpoint(
        self,
        filename: str,
        *,
        save_optimizer: bool = True,
        save_param_scheduler: bool = True,
        extra_ckpt: dict | None = None,
        callback: Callable | None = None,
    ) -> None:
        """Write the sharded folder and the consolidated file (``sharded_checkpoint.py``).

        Collective: every rank calls it. The checkpoint hooks (``callback``) run first; what
        they raise on one rank is raised on every rank, before anything is written.
        """
        checkpoint: dict[str, Any] = {'state_dict': full_model_state(self.model)}
        if save_param_scheduler and hasattr(self, 'param_schedulers'):
            checkpoint['param_schedulers'] = self.scheduler_state_dict()
        checkpoint.update(extra_ckpt or {})
        checkpoint.setdefault('meta', {}).update(
            seed=self.seed,
            time=time.strftime('%Y%m%d_%H%M%S', time.localtime()),
            mmengine=mmengine.__version__,
            sharded=os.path.basename(sharded_folder(filename)),
            world_size=self.world_size,
        )
        error = None
        try:
            if callback is not None:
                callback(checkpoint)  # the checkpoint hooks: non-finite weights refused here
        except Exception as err:  # noqa: BLE001  (re-raised on every rank below)
            error = err
        agree_or_raise(error)
        optimizer = self.optim_wrapper.optimizer if save_optimizer else None
        base = getattr(self.optim_wrapper, 'base_param_settings', None)
        if optimizer is not None and base is not None:
            # the shards hold torch's optimizer state only; the wrapper's extra group (the
            # config lr its schedulers move, logged as base_lr) goes into the file
            checkpoint[BASE_SETTINGS] = dict(base)
        save_sharded(self.model, optimizer, checkpoint, filename)

    def resume(self, filename: str, **kwargs: Any) -> dict:
        """The stock resume; only under it does :meth:`load_checkpoint` accept a file."""
        self._resuming = True
        try:
            return super().resume(filename, **kwargs)
        finally:
            self._resuming = False

    def load_checkpoint(
        self,
        filename: str,
        *,
        map_location: str | Callable = 'cpu',
        strict: bool = False,
        revise_keys: list | None = None,
        callback: Callable | None = None,
    ) -> dict:
        """On resume, load the training state from the file and the weights from the shards.

        The consolidated file gives the training state (read code-free); the weights and the
        optimizer come from the shards, strictly. ``strict`` is ignored: loading is always
        checked.

        Raises:
            ValueError: called outside a resume (``load_from``), or shards of another model.
            FileNotFoundError: no sharded folder beside ``filename``.
        """
        if not self._resuming:
            raise ValueError(
                f'load_from={filename!r} under MAEFSDP2Strategy: weights load before sharding '
                "through model.init_cfg=dict(type='Pretrained', checkpoint=...); "
                '--resume continues a run of this strategy'
            )
        checkpoint = load_checkpoint_file(filename)
        if callback is not None:
            callback(checkpoint)
        optimizer = self.optim_wrapper.optimizer if hasattr(self, 'optim_wrapper') else None
        optim_state = load_sharded(self.model, optimizer, filename)
        checkpoint.pop('state_dict', None)  # the shards are the weights resumed
        if optim_state is not None:
            checkpoint['optimizer'] = dict(optim_state)
            if BASE_SETTINGS in checkpoint:
                checkpoint['optimizer'][BASE_SETTINGS] = checkpoint.pop(BASE_SETTINGS)
        self.logger.info(f'resumed every weight of {sharded_folder(filename)}')
        return checkpoint

    def load_optim_state_dict(self, state_dict: dict) -> None:
        """Load the sharded optimizer state and the wrapper's base settings kept beside it."""
        state_dict = dict(state_dict)
        base = state_dict.pop(BASE_SETTINGS, None)
        if base is not None and getattr(self.optim_wrapper, 'base_param_settings', None):
            self.optim_wrapper.base_param_settings = base
        set_optimizer_state(self.model, self.optim_wrapper.optimizer, state_dict)
