"""Test plugin (imported through a config's ``custom_imports``): records on every rank, into
``<work_dir>/probe_rank<R>.pth``, the loss of each step, the bytes of parameters and optimizer
state this rank holds (its local shards under FSDP2), each parameter's weight decay, and the
weights and optimizer step count the run starts from."""

import os

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch.distributed.tensor import DTensor

from mae_plugin.engine.registry import HOOKS


def _local(t: torch.Tensor) -> torch.Tensor:
    return t.to_local() if isinstance(t, DTensor) else t


def _bytes(tensors) -> int:
    return sum(_local(t).numel() * t.element_size() for t in tensors if torch.is_tensor(t))


@HOOKS.register_module()
class FSDPProbeHook(Hook):
    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self.model = model
        optimizer = runner.optim_wrapper.optimizer
        steps = [s['step'] for s in optimizer.state.values() if 'step' in s]
        self.record = {
            'losses': [],
            'start': {k: _local(v).detach().clone() for k, v in model.state_dict().items()},
            'start_step': float(steps[0]) if steps else 0.0,
        }

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.record['losses'].append(float(outputs['loss']))

    def after_train(self, runner) -> None:
        optimizer = runner.optim_wrapper.optimizer
        names = {id(p): n for n, p in self.model.named_parameters()}
        self.record['param_bytes'] = _bytes(self.model.parameters())
        self.record['optim_bytes'] = _bytes(
            v for state in optimizer.state.values() for k, v in state.items() if k != 'step'
        )
        self.record['decay'] = {
            names[id(p)]: g['weight_decay'] for g in optimizer.param_groups for p in g['params']
        }
        self.record['lr'] = optimizer.param_groups[0]['initial_lr']
        torch.save(self.record, os.path.join(runner.work_dir, f'probe_rank{runner.rank}.pth'))


@HOOKS.register_module()
class NaNWeightsHook(Hook):
    """Turns every weight (every rank's shard) to NaN after iteration ``at``, before the
    checkpoint hook saves it."""

    def __init__(self, at: int) -> None:
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.at:
            with torch.no_grad():
                for param in runner.model.parameters():
                    _local(param).fill_(float('nan'))
