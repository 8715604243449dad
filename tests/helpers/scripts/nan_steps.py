"""Test plugin (imported through a config's ``custom_imports``): the decoder's output is NaN at
the given 0-based iterations (on the given ranks only, default all); records, for every
iteration, whether the decoder's weights changed (``NaNStepsHook.runs[-1].changed``, keyed by
the 1-based iteration of the log)."""

import torch
from mmengine.hooks import Hook

from mae_plugin.engine.hooks.ranks import bare_model
from mae_plugin.engine.registry import HOOKS


@HOOKS.register_module()
class NaNStepsHook(Hook):
    runs: list = []  # every instance built, the last one is the run of the test

    def __init__(self, bad=(), ranks=None) -> None:
        self.bad, self.changed, self.nan = set(bad), {}, False
        self.ranks = ranks
        self.started = None
        NaNStepsHook.runs.append(self)

    def before_run(self, runner) -> None:
        self.model = bare_model(runner)
        self.first = self.model.mae.decoder.pred.weight.detach().clone()
        self.model.mae.decoder.pred.register_forward_hook(
            lambda m, a, out: out * float('nan') if self.nan else out
        )

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self.before = self.model.mae.decoder.pred.weight.detach().clone()
        here = self.ranks is None or runner.rank in self.ranks
        self.nan = here and runner.iter in self.bad
        self.started = runner.iter + 1

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        weight = self.model.mae.decoder.pred.weight
        self.changed[runner.iter + 1] = not torch.equal(self.before, weight)
