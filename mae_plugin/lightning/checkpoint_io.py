"""Lightning checkpoints that are never half-written, never hold NaN, and never run code.

``MAECheckpointIO`` is the ``CheckpointIO`` plugin every MAE run uses (``MAELightningModule``
installs it in place of Lightning's default; ``Trainer(plugins=[MAECheckpointIO()])`` says
so explicitly):

- save: refuses non-finite weights, then writes ``<path>.partial``, fsyncs, renames and fsyncs
  the folder (``mae_plugin.fileio``); ``ModelCheckpoint`` deletes the checkpoints
  it drops only after that (Lightning's own order), so a kill leaves the last complete file;
- load: ``mae_plugin.checkpoints.load_checkpoint_file``, i.e. ``torch.load(weights_only=True)``
  after a structural check; a pickle asking for anything beyond tensors and builtins is refused
  before one object of it is built, a truncated file is named as corrupt.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

from ..checkpoints import load_checkpoint_file
from ..fileio import atomic_torch_save


def first_non_finite(state: dict[str, Any]) -> str | None:
    """Name of the first floating-point tensor of ``state`` holding NaN or Inf, else None."""
    for key, value in state.items():
        if (
            torch.is_tensor(value)
            and value.is_floating_point()
            and not bool(torch.isfinite(value).all())
        ):
            return key
    return None


class MAECheckpointIO(TorchCheckpointIO):
    """Atomic, finite-only writes; ``weights_only`` reads (see the module docstring)."""

    def save_checkpoint(
        self,
        checkpoint: dict[str, Any],
        path: str | os.PathLike,
        storage_options: Any | None = None,
    ) -> None:
        """Write ``checkpoint`` to ``path`` atomically, once its weights are finite.

        Raises:
            TypeError: ``storage_options`` given (local files only).
            FloatingPointError: a weight holds NaN or Inf; nothing is written.
        """
        if storage_options is not None:
            raise TypeError(
                f'{type(self).__name__} writes local files and takes no '
                f'storage_options, got {storage_options!r}'
            )
        bad = first_non_finite(checkpoint.get('state_dict', {}))
        if bad is not None:
            raise FloatingPointError(
                f'checkpoint {os.fspath(path)!r} not written: weight '
                f'{bad!r} holds non-finite values'
            )
        atomic_torch_save(checkpoint, path)

    def load_checkpoint(
        self,
        path: str | os.PathLike,
        map_location: Callable | None = None,
        weights_only: bool | None = None,
    ) -> dict[str, Any]:
        """The checkpoint at ``path``, on the CPU (Lightning moves states where they belong).

        Raises:
            ValueError: ``weights_only=False`` asked for.
            CorruptCheckpointError: the file is damaged.
            UnsafeCheckpointError: the file would run code when loaded.
        """
        if weights_only is False:
            raise ValueError(
                f'{type(self).__name__} reads checkpoints with weights_only=True '
                f'only; refusing weights_only=False for {os.fspath(path)!r}'
            )
        return load_checkpoint_file(path)
