"""Test plugin (imported through a config's ``custom_imports``): kill -9 the training process
while the checkpoint of iteration ``at`` is being written to disk.

The checkpoint gets ``ballast_mb`` of zeros, so that its write takes a while; a thread watches
``<name>.partial`` and sends SIGKILL as soon as its first bytes are on disk (MMEngine serialises
the whole checkpoint into memory first: a kill while pickling would never reach the file)."""

import os
import signal
import sys
import threading
import time

import torch
from mmengine.hooks import Hook

from mae_plugin.engine.registry import HOOKS
from mae_plugin.fileio import PARTIAL_SUFFIX


def _kill_once_written(path: str) -> None:
    while True:
        try:
            size = os.path.getsize(path)
        except FileNotFoundError:
            size = 0
        if size > 0:
            print(f'kill -9 with {size} bytes of {path} on disk', file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.0005)


@HOOKS.register_module()
class KillDuringSaveHook(Hook):
    priority = 'LOWEST'  # after every other hook has filled the checkpoint

    def __init__(self, at: int, ballast_mb: int = 256) -> None:
        self.at, self.ballast_mb = at, ballast_mb

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if runner.iter + 1 != self.at:
            return
        checkpoint['state_dict']['zz_ballast'] = torch.zeros(self.ballast_mb * 2**18)
        partial = os.path.join(runner.work_dir, f'iter_{self.at}.pth') + PARTIAL_SUFFIX
        threading.Thread(target=_kill_once_written, args=(partial,), daemon=True).start()
