"""Test plugin (imported through a config's ``custom_imports``): a NaN put into the checkpoint of
iteration ``at`` before ``FiniteWeightsHook`` looks, as rank 0 alone writes it."""

import torch
from mmengine.hooks import Hook

from mae_plugin.engine.registry import HOOKS


@HOOKS.register_module()
class PoisonAtSaveHook(Hook):
    priority = 'HIGHEST'  # before FiniteWeightsHook looks

    def __init__(self, at: int) -> None:
        self.at = at

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if runner.iter + 1 == self.at:
            checkpoint['state_dict']['mae.decoder.pred.bias'] = torch.tensor(float('nan'))
