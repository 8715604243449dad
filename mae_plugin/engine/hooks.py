"""Hooks that keep a pretraining run honest: no bad weights on disk, skipped images counted."""
from __future__ import annotations

import torch
from mmengine.hooks import Hook

from .registry import HOOKS


@HOOKS.register_module()
class FiniteWeightsHook(Hook):
    """Refuse to write a checkpoint whose model weights hold NaN or Inf.

    The model already stops on a non-finite loss; this is the last guard before disk.
    """

    priority = 'VERY_HIGH'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        for key, value in checkpoint.get('state_dict', {}).items():
            if torch.is_tensor(value) and value.is_floating_point() \
                    and not bool(torch.isfinite(value).all()):
                raise FloatingPointError(
                    f'checkpoint not written at iteration {runner.iter}: weight {key!r} holds '
                    'non-finite values')


@HOOKS.register_module()
class CorruptImageCounterHook(Hook):
    """Sum ``data_samples['num_skipped']`` into the log scalar ``corrupt_images`` (this rank)."""

    def __init__(self) -> None:
        self.total = 0

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        samples = (data_batch or {}).get('data_samples')
        if isinstance(samples, dict) and 'num_skipped' in samples:
            self.total += int(torch.as_tensor(samples['num_skipped']).sum())
        runner.message_hub.update_scalar('train/corrupt_images', self.total)
