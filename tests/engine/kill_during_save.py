"""Test plugin (imported through a config's ``custom_imports``): kill -9 the training process in
the middle of writing the checkpoint of iteration ``at``."""

import os
import signal

import torch
from mmengine.hooks import Hook

from mae_plugin.engine.registry import HOOKS


class _KillWhenPickled:
    """Sends SIGKILL to its own process when ``torch.save`` reaches it."""

    def __reduce__(self):
        os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class KillDuringSaveHook(Hook):
    priority = 'LOWEST'  # after every other hook has filled the checkpoint

    def __init__(self, at: int) -> None:
        self.at = at

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if runner.iter + 1 == self.at:
            checkpoint['state_dict']['zz_kill'] = torch.zeros(1)
            checkpoint['zz_kill'] = _KillWhenPickled()
