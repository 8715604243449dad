"""``MAERunner``: MMEngine's ``Runner`` with the plugin's loading and learning-rate rules.

Configs select it with ``runner_type='MAERunner'`` (``'mae_plugin.MAERunner'`` from the mmdet or
mmseg scope); ``tools/train.py`` builds ``cfg.runner_type`` through the registry as OpenMMLab's
own tools do. What it changes, each a silent failure of the stock runner:

- **lr rule**: ``auto_scale_lr`` scales by batch x processes x gradient accumulation / base
  batch, the official MAE rule; MMEngine 0.10.7 leaves accumulation out.
- **loading**: ``load_from`` and ``--resume`` never load with ``strict=False``. ``load_from`` on
  an MAE goes through the one interop loader (every format the converters read, position tables
  resampled, a report in the log); on any other model, and on resume, every key and shape must
  fit. A misfit is an error listing keys and shapes, never a warning before a random model.
- **nothing from a file runs**: files are read with ``weights_only=True``, and a
  ``meta['config']`` text (which the stock ``resume`` hands to ``Config.fromstring``, executing
  it) is dropped unread.
"""
from __future__ import annotations

import os
from typing import Any, Callable

from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.optim.scheduler import _ParamScheduler
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model
from torch.utils.data import DataLoader

from ...checkpoints import load_checkpoint_file, load_mae_weights
from ..pretrain.model import MAEPretrainModel
from ..registry import RUNNERS


def effective_batch_size(batch_size: int, world_size: int, accumulation: int) -> int:
    """Images behind one optimizer step: the ``batch`` in lr = base_lr x batch / 256."""
    return batch_size * world_size * accumulation


def _built(schedulers: Any) -> bool:
    if isinstance(schedulers, dict):
        return 'type' not in schedulers and any(_built(s) for s in schedulers.values())
    if isinstance(schedulers, list):
        return any(_built(s) for s in schedulers)
    return isinstance(schedulers, _ParamScheduler)


@RUNNERS.register_module()
class MAERunner(Runner):
    """MMEngine's ``Runner``; see the module docstring for what differs."""

    _resuming = False

    def scale_lr(self, optim_wrapper: OptimWrapper, auto_scale_lr: dict | None = None) -> None:
        """lr x (batch x processes x accumulation) / ``auto_scale_lr['base_batch_size']``."""
        if not auto_scale_lr or not auto_scale_lr.get('enable', False):
            return
        if 'base_batch_size' not in auto_scale_lr:
            raise KeyError(f'auto_scale_lr={auto_scale_lr} needs base_batch_size')
        if _built(self.param_schedulers):
            raise RuntimeError('scale_lr must run before the parameter schedulers are built: '
                               'they record the initial lr')
        wrappers = (list(optim_wrapper.values()) if isinstance(optim_wrapper, OptimWrapperDict)
                    else [optim_wrapper])
        counts = {w._accumulative_counts for w in wrappers}
        if len(counts) != 1:
            raise ValueError(f'optimizer wrappers accumulate over different counts {counts}: '
                             'one effective batch size is needed to scale the lr')
        loader = self._train_dataloader
        batch = loader.batch_size if isinstance(loader, DataLoader) else loader['batch_size']
        accumulation = counts.pop()
        effective = effective_batch_size(batch, self.world_size, accumulation)
        base = auto_scale_lr['base_batch_size']
        ratio = effective / base
        for wrapper in wrappers:
            for group in wrapper.optimizer.param_groups:
                group['lr'] *= ratio
        lrs = sorted({group['lr'] for w in wrappers for group in w.optimizer.param_groups})
        self.logger.info(
            f'lr scaled by effective batch / base batch = (batch {batch} x {self.world_size} '
            f'processes x {accumulation} accumulation) / {base} = {effective} / {base} = '
            f'{ratio:g}; lr now {lrs[-1]:.6g}' + (f' (lowest group {lrs[0]:.6g})'
                                                  if len(lrs) > 1 else ''))

    def resume(self, filename: str, *args: Any, **kwargs: Any) -> None:
        self._resuming = True
        try:
            super().resume(filename, *args, **kwargs)
        finally:
            self._resuming = False

    def load_checkpoint(self, filename: str, map_location: str | Callable = 'cpu',
                        strict: bool = False, revise_keys: list = [(r'^module\.', '')]
                        ) -> dict:
        """Read ``filename`` code-free and load it into the model, refusing any misfit.

        ``strict`` is accepted for MMEngine's callers and ignored: loading is always checked.
        """
        checkpoint = load_checkpoint_file(filename)
        meta = checkpoint.get('meta')
        if isinstance(meta, dict) and 'config' in meta:
            meta.pop('config')  # executable text: never handed on to Config.fromstring
            self.logger.info(f"{filename}: meta['config'] text ignored (never executed)")
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        if isinstance(model, MAEPretrainModel) and not self._resuming:
            # continued pretraining from any release: the interop loader, as init_cfg does
            # (read again by the loader, which names the file in its report and errors)
            report = load_mae_weights(model.mae, filename)
            self.logger.info(f'load_from: {report.summary()}')
        else:
            try:
                _load_checkpoint_to_model(model, checkpoint, strict=True,
                                          revise_keys=revise_keys)
            except RuntimeError as err:
                hint = ('' if self._resuming else ' To start from pretrained MAE weights, set '
                        "model.init_cfg=dict(type='Pretrained', checkpoint=...) instead.")
                raise ValueError(f'checkpoint {os.fspath(filename)!r} does not fit '
                                 f'{type(model).__name__}: {err}.{hint}') from None
            self.logger.info(f'loaded every weight of {filename} ({type(model).__name__})')
        self._has_loaded = True
        return checkpoint
