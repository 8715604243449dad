"""Test plugin (imported through a config's ``custom_imports``): records, on every rank, one
weight's local gradient and the gradient the optimizer steps with at the first update, and the
final weights, into ``<work_dir>/ddp_probe_rank<R>.pth``."""

import os

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mae_plugin.engine.registry import HOOKS


@HOOKS.register_module()
class DDPProbeHook(Hook):
    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self.model = model
        weight = model.mae.decoder.pred.weight
        self.record = {}

        def local(param):  # after this rank's backward accumulated it, before DDP averages
            self.record.setdefault('local', param.grad.detach().clone())

        def stepped(optimizer, args, kwargs):  # what the first optimizer step uses
            self.record.setdefault('stepped', weight.grad.detach().clone())

        weight.register_post_accumulate_grad_hook(local)
        runner.optim_wrapper.optimizer.register_step_pre_hook(stepped)

    def after_train(self, runner) -> None:
        self.record['state'] = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        torch.save(self.record, os.path.join(runner.work_dir, f'ddp_probe_rank{runner.rank}.pth'))
