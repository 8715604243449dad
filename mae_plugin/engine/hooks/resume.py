"""Resumable checkpoints that ``torch.load(weights_only=True)`` reads.

MMEngine 0.10.7 resumes with ``torch.load``'s default, ``weights_only=True`` since torch 2.6, but
its checkpoints pickle the message hub's ``HistoryBuffer`` objects (numpy arrays, and a
``builtins.getattr`` reduction that no allow-list should admit), so ``Runner.resume`` fails with
``UnpicklingError``. Rather than turn unsafe unpickling back on, this hook writes that state as
tensors and Python builtins, and rebuilds the buffers when the checkpoint is read back: the
checkpoint then needs no type beyond torch's own allow-list.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer, print_log

from ..registry import HOOKS
from ..runtime.rescale import LAYOUT_META, batch_layout, rescale_resumed_lr

_MARK = 'weights_only_safe'


def _plain(value: Any) -> Any:
    """Turn numpy scalars and arrays into Python numbers and tensors, through dicts and lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, dict):
        return type(value)((k, _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def message_hub_to_plain(state: dict) -> dict:
    """MessageHub state dict -> the same content in tensors and builtins."""
    scalars = {}
    for key, buffer in state.get('log_scalars', {}).items():
        scalars[key] = dict(
            log=torch.as_tensor(np.asarray(buffer._log_history, np.float64)),
            count=torch.as_tensor(np.asarray(buffer._count_history, np.int64)),
            max_length=int(buffer.max_length),
        )
    return dict(
        state,
        log_scalars=scalars,
        runtime_info=_plain(state.get('runtime_info', {})),
        **{_MARK: True},
    )


def message_hub_from_plain(state: dict) -> dict:
    """Inverse of :func:`message_hub_to_plain`."""
    state = dict(state)
    state.pop(_MARK)
    state['log_scalars'] = {
        key: HistoryBuffer(value['log'].tolist(), value['count'].tolist(), value['max_length'])
        for key, value in state['log_scalars'].items()
    }
    return state


@HOOKS.register_module()
class WeightsOnlyResumeHook(Hook):
    """Write the message hub as tensors/builtins; rebuild it when a checkpoint is loaded."""

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Replace ``checkpoint['message_hub']`` by :func:`message_hub_to_plain`'s form."""
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = message_hub_to_plain(checkpoint['message_hub'])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Rebuild the message hub's buffers of a checkpoint this hook wrote; others pass."""
        hub = checkpoint.get('message_hub')
        if isinstance(hub, dict) and hub.get(_MARK):
            checkpoint['message_hub'] = message_hub_from_plain(hub)


SCHEDULE_KEYS = ('train_cfg', 'param_scheduler')
SCHEDULE_META = 'schedule'  # checkpoint['meta'][SCHEDULE_META]: plain data, never code


def plain_schedule(cfg: Any) -> dict:
    """The schedule settings of ``cfg`` as JSON data (dicts, lists, numbers, strings).

    What a checkpoint records, and compares on resume, without ever parsing config text.
    """
    return json.loads(
        json.dumps({key: cfg.get(key) for key in SCHEDULE_KEYS}, sort_keys=True, default=repr)
    )


def schedule_mismatch(saved: dict, current: dict) -> list[str]:
    """Keys of :data:`SCHEDULE_KEYS` whose values differ, each as 'key: saved -> current'."""
    return [
        f'{key}: {saved.get(key)} -> {current.get(key)}'
        for key in SCHEDULE_KEYS
        if saved.get(key) != current.get(key)
    ]


@HOOKS.register_module()
class ResumeScheduleGuardHook(Hook):
    """Refuse to resume from a checkpoint trained with another iteration count or schedule.

    Resuming restores the iteration and the schedulers' state; if the config now says another
    ``train_cfg`` or ``param_scheduler``, the run would silently follow neither schedule. The
    schedule is written into ``meta['schedule']`` as plain data when a checkpoint is saved; the
    config text MMEngine also stores (``meta['cfg']``) is never read, since parsing it would
    execute it.

    Another batch layout (processes x batch x accumulation) is no other schedule: the layout
    goes into ``meta['batch_layout']``, and once the optimizer and schedulers are resumed
    (``before_train``, under both runners) their lr is rescaled to this run's layout when
    ``auto_scale_lr`` is on (``runtime/rescale.py``).
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._resumed_layout: dict | None = None
        self._resumed = False

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Record the schedule and the batch layout in ``checkpoint['meta']``."""
        meta = checkpoint.setdefault('meta', {})
        meta[SCHEDULE_META] = plain_schedule(runner.cfg)
        meta[LAYOUT_META] = batch_layout(runner)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """On ``--resume``, compare the recorded schedule with the config's.

        Raises:
            ValueError: the schedules differ, listing each setting (saved -> current).
        """
        if not runner.cfg.get('resume', False):
            return
        self._resumed = True
        layout = checkpoint.get('meta', {}).get(LAYOUT_META)
        self._resumed_layout = layout if isinstance(layout, dict) else None
        saved = checkpoint.get('meta', {}).get(SCHEDULE_META)
        if not isinstance(saved, dict):
            print_log(
                'the checkpoint being resumed records no schedule (an older mae_plugin '
                'or another tool wrote it): cannot check that it continues the '
                'configured train_cfg and param_scheduler',
                logger='current',
                level=logging.WARNING,
            )
        else:
            self._refuse_another_schedule(saved, runner)

    def _refuse_another_schedule(self, saved: dict, runner) -> None:
        diffs = schedule_mismatch(saved, plain_schedule(runner.cfg))
        if diffs:
            raise ValueError(
                'the checkpoint being resumed was trained with another schedule, '
                'so resuming would not continue it: '
                + '; '.join(diffs)
                + '. Start a new --work-dir, or match the settings with '
                '--cfg-options.'
            )

    def before_train(self, runner) -> None:
        """The optimizer and schedulers are resumed by now: rescale their lr to this layout."""
        if not self._resumed:
            return
        self._resumed = False
        current = batch_layout(runner)
        if self._resumed_layout is None:
            if current['lr_factor'] != 1.0:
                print_log(
                    'the checkpoint being resumed records no batch layout (an older '
                    'mae_plugin wrote it): its lr is kept, unchecked against auto_scale_lr '
                    f'for {current}',
                    logger='current',
                    level=logging.WARNING,
                )
            return
        rescale_resumed_lr(
            runner.optim_wrapper,
            runner.param_schedulers,
            self._resumed_layout,
            current,
            runner.logger,
        )
