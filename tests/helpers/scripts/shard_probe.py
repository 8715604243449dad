"""Test plugin (``custom_imports``): records the ``stream`` rows (reader, epoch, k, pos) of every
trained batch, on every rank, into ``<work_dir>/stream_rank<R>_iter<first>.pth``."""

import os

import torch
from mmengine.hooks import Hook

from mae_plugin.engine.registry import HOOKS


@HOOKS.register_module()
class StreamProbeHook(Hook):
    def before_train(self, runner) -> None:
        self.first, self.rows = runner.iter, []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.rows.append(data_batch['data_samples']['stream'].clone())

    def after_train(self, runner) -> None:
        name = f'stream_rank{runner.rank}_iter{self.first}.pth'
        torch.save(torch.stack(self.rows), os.path.join(runner.work_dir, name))
