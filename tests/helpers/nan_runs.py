"""A tiny demo run, built in this process, whose decoder output is NaN at chosen iterations."""

import torch
from mmengine.hooks import Hook

from mae_plugin.engine.registry import HOOKS
from mae_plugin.engine.runtime.launch import build_runner
from tests.helpers.mmengine_runs import TINY, in_process_cfg


class NaNAtIterations(Hook):
    """Make the decoder's output NaN at the given (0-based) iterations; record the weights
    before and after every iteration."""

    def __init__(self, bad=()):
        self.bad, self.changed = set(bad), {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.before = runner.model.mae.decoder.pred.weight.detach().clone()
        self.nan = runner.iter in self.bad

    def before_run(self, runner):
        pred = runner.model.mae.decoder.pred
        pred.register_forward_hook(lambda m, a, out: out * float('nan') if self.nan else out)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        weight = runner.model.mae.decoder.pred.weight
        self.changed[runner.iter] = not torch.equal(self.before, weight)


def run(tmp_path, demo_root, iters, bad, **cfg_extra):
    HOOKS.register_module(module=NaNAtIterations, force=True)
    hook = NaNAtIterations(bad)
    # no pictures, kNN or checkpoints but the last: the tests read the weights in memory
    quiet = {**TINY, 'default_hooks.checkpoint.interval': 1000}
    cfg = in_process_cfg(tmp_path, demo_root, iters, monitors=False, **quiet)
    cfg.optim_wrapper.optimizer.fused = True
    cfg.merge_from_dict(cfg_extra)
    runner = build_runner(cfg)
    runner.register_hook(hook)
    return runner, hook
