"""Shared pieces of the checkpoint tests: writing checkpoints, a full disk, the modules a read
enters (fixtures are in ``tests/conftest.py``)."""

import os
import sys

import torch

import mae_plugin.checkpoints
from tests.helpers.paths import DEMO

DEMO_CFG = DEMO  # the demo MAE: ViT-Ti-like, 64 px, patch 8
CHECKPOINTS = os.path.dirname(mae_plugin.checkpoints.__file__)


def save(tmp_path, name: str, obj) -> str:
    """``torch.save(obj)`` to ``tmp_path / name``; returns the path as a string."""
    path = tmp_path / name
    torch.save(obj, path)
    return str(path)


def save_plugin_checkpoint(mae: torch.nn.Module, path) -> str:
    """Write ``mae`` as this plugin's MMEngine checkpoint (``state_dict`` with ``mae.*``)."""
    torch.save(
        {'meta': {}, 'state_dict': {f'mae.{k}': v for k, v in mae.state_dict().items()}}, path
    )
    return str(path)


def failing_fsync(fd: int) -> None:
    """``os.fsync`` of a full disk: patched into ``mae_plugin.fileio.os`` to cut a write short."""
    raise OSError('no space left on device (simulated)')


def modules_entered(fn, package: str = CHECKPOINTS) -> list[str]:
    """Modules of ``package`` that calling ``fn()`` enters, in order, as paths without
    ``.py`` relative to it (``'containers/read'``).

    A module is entered when a function of it is called from another module (returning to a
    caller is not an entry); consecutive calls into the same module count once, so ``A -> B
    -> A`` lists ``A`` twice and a caller calling two functions of ``B`` in a row lists ``B``
    once.
    """
    root = package + os.sep

    def module(frame) -> str | None:
        name = frame.f_code.co_filename if frame is not None else ''
        return name[len(root) : -len('.py')] if name.startswith(root) else None

    entered: list[str] = []

    def tracer(frame, event, arg):
        if event == 'call':
            callee = module(frame)
            if callee is not None and callee != module(frame.f_back):
                if not entered or entered[-1] != callee:
                    entered.append(callee)

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        fn()
    finally:
        sys.settrace(previous)
    return entered
