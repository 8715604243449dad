"""``MAERunner``: MMEngine's ``Runner`` with the plugin's loading and learning-rate rules.

Configs select it with ``runner_type='MAERunner'`` (``'mae_plugin.MAERunner'`` from the mmdet or
mmseg scope); ``tools/train.py`` builds ``cfg.runner_type`` through the registry as OpenMMLab's
own tools do. What it changes, each a silent failure of the stock runner:

- **lr rule**: ``auto_scale_lr`` scales by batch x processes x gradient accumulation / base
  batch, the official MAE rule; MMEngine 0.10.7 leaves accumulation out.
- **loading**: ``load_from`` and ``--resume`` never load with ``strict=False``. ``load_from`` on
  an MAE goes through the one interop loader (every format the converters read, position tables
  resampled, a report in the log); on any other model, and on resume, every key and shape must
  fit. A misfit is an error listing keys and shapes, never a warning before a random model,
  on every rank (the stock strict load raises on rank 0 alone).
- **nothing from a file runs**: files are read with ``weights_only=True``, and a
  ``meta['config']`` text (which the stock ``resume`` hands to ``Config.fromstring``, executing
  it) is dropped unread.
- **hooks off**: ``default_hooks.<name>=None`` turns off the plugin's hooks too (the stock
  runner asserts unless ``<name>`` is one of its own six).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model
from torch.utils.data import DataLoader

from ...checkpoints import load_checkpoint_file, load_mae_weights
from ...training.ranks import on_every_rank
from ..pretrain.model import MAEPretrainModel
from ..registry import RUNNERS
from .runner_rules import drop_config_text, effective_batch_size, hooks_turned_off, scale_lr

__all__ = ['MAERunner', 'effective_batch_size']


@RUNNERS.register_module()
class MAERunner(Runner):
    """MMEngine's ``Runner``; see the module docstring for what differs."""

    _resuming = False

    def scale_lr(self, optim_wrapper: OptimWrapper, auto_scale_lr: dict | None = None) -> None:
        """Scale the lr by (batch x processes x accumulation) / ``base_batch_size``.

        ``base_batch_size`` is ``auto_scale_lr``'s; the stock rule leaves accumulation out.
        """
        loader = self._train_dataloader
        batch = loader.batch_size if isinstance(loader, DataLoader) else loader['batch_size']
        scale_lr(
            optim_wrapper, auto_scale_lr, batch, self.world_size, self.param_schedulers, self.logger
        )

    def register_default_hooks(self, hooks: dict | None = None) -> None:
        """The stock default hooks, where ``<name>=None`` also turns off the plugin's."""
        super().register_default_hooks(hooks_turned_off(hooks))

    def resume(self, filename: str, *args: Any, **kwargs: Any) -> None:
        """The stock resume; its load is strict and bypasses the MAE interop loader."""
        self._resuming = True
        try:
            super().resume(filename, *args, **kwargs)
        finally:
            self._resuming = False

    # MMEngine's strict load raises on rank 0 alone: the others would go on half-loaded
    @on_every_rank('another rank could not load the checkpoint')
    def load_checkpoint(
        self,
        filename: str,
        map_location: str | Callable = 'cpu',
        strict: bool = False,
        revise_keys: list | None = None,
    ) -> dict:
        """Read ``filename`` code-free and load it into the model, refusing any misfit.

        ``strict`` is accepted for MMEngine's callers and ignored: loading is always checked.
        ``revise_keys`` defaults to MMEngine's: a DDP ``module.`` prefix is dropped.

        Raises:
            ValueError: the checkpoint does not fit the model, on every rank.
        """
        if revise_keys is None:
            revise_keys = [(r'^module\.', '')]
        checkpoint = load_checkpoint_file(filename)
        drop_config_text(checkpoint, filename, self.logger)  # never to Config.fromstring
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        if isinstance(model, MAEPretrainModel) and not self._resuming:
            # continued pretraining from any release: the interop loader, as init_cfg does
            # (read again by the loader, which names the file in its report and errors)
            report = load_mae_weights(model.mae, filename)
            self.logger.info(f'load_from: {report.summary()}')
        else:
            try:
                _load_checkpoint_to_model(model, checkpoint, strict=True, revise_keys=revise_keys)
            except RuntimeError as err:
                hint = (
                    ''
                    if self._resuming
                    else ' To start from pretrained MAE weights, set '
                    "model.init_cfg=dict(type='Pretrained', checkpoint=...) instead."
                )
                raise ValueError(
                    f'checkpoint {os.fspath(filename)!r} does not fit '
                    f'{type(model).__name__}: {err}.{hint}'
                ) from None
            self.logger.info(f'loaded every weight of {filename} ({type(model).__name__})')
        self._has_loaded = True
        return checkpoint
