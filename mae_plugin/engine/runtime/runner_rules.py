"""The plugin's runner rules, shared by ``MAERunner`` and ``MAEFlexibleRunner``.

- :func:`scale_lr`: lr x (batch x processes x gradient accumulation) / base batch, the official
  MAE rule (MMEngine 0.10.7 leaves accumulation out, in both of its runners);
- :func:`drop_config_text`: a checkpoint's ``meta['config']``/``meta['cfg']`` text is removed
  unread, before any hook or runner code sees it (both MMEngine runners hand ``meta['config']``
  to ``Config.fromstring`` on resume, which executes it);
- :func:`hooks_turned_off`: ``default_hooks.<name>=None`` turns off any default hook, the
  plugin's too (MMEngine's runners assert unless ``<name>`` is one of their own six).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.optim.scheduler import _ParamScheduler

from ...training.lr import effective_batch_size

CONFIG_TEXT_KEYS = ('cfg', 'config')
STOCK_DEFAULT_HOOKS = frozenset(
    ('runtime_info', 'timer', 'sampler_seed', 'logger', 'param_scheduler', 'checkpoint')
)


def hooks_turned_off(hooks: dict | None) -> dict | None:
    """``hooks`` without the plugin's hooks set to None, e.g. ``default_hooks.knn=None``.

    The stock six keep their None: MMEngine drops those itself.
    """
    if hooks is None:
        return None
    return {k: v for k, v in hooks.items() if v is not None or k in STOCK_DEFAULT_HOOKS}


def wrappers_of(optim_wrapper: OptimWrapper) -> list[OptimWrapper]:
    """The wrappers of an ``OptimWrapperDict``, or ``[optim_wrapper]``."""
    if isinstance(optim_wrapper, OptimWrapperDict):
        return list(optim_wrapper.values())
    return [optim_wrapper]


def accumulation_of(optim_wrapper: OptimWrapper) -> int:
    """The gradient accumulation count, one for all wrappers (else ``ValueError``)."""
    counts = {w._accumulative_counts for w in wrappers_of(optim_wrapper)}
    if len(counts) != 1:
        raise ValueError(
            f'optimizer wrappers accumulate over different counts {counts}: '
            'one effective batch size is needed to scale the lr'
        )
    return counts.pop()


def lr_factor(auto_scale_lr: dict | None, processes: int, batch: int, accumulation: int) -> float:
    """What ``auto_scale_lr`` multiplies the configured lr by: effective / base batch, or 1 if off.

    The one lr rule of fresh runs (:func:`scale_lr`) and resumes (``rescale.py``).

    Raises:
        KeyError: ``auto_scale_lr`` is on without ``base_batch_size``.
    """
    if not auto_scale_lr or not auto_scale_lr.get('enable', False):
        return 1.0
    if 'base_batch_size' not in auto_scale_lr:
        raise KeyError(f'auto_scale_lr={auto_scale_lr} needs base_batch_size')
    effective = effective_batch_size(batch, processes, accumulation)
    return effective / auto_scale_lr['base_batch_size']


def schedulers_built(schedulers: Any) -> bool:
    """True when ``schedulers`` (a config, a list or a dict of them) holds a built scheduler."""
    if isinstance(schedulers, dict):
        return 'type' not in schedulers and any(schedulers_built(s) for s in schedulers.values())
    if isinstance(schedulers, list):
        return any(schedulers_built(s) for s in schedulers)
    return isinstance(schedulers, _ParamScheduler)


def scale_lr(
    optim_wrapper: OptimWrapper,
    auto_scale_lr: dict | None,
    batch: int,
    world_size: int,
    schedulers: Any,
    logger: logging.Logger,
) -> None:
    """Multiply every group's lr by (batch x world_size x accumulation) / base batch, in place.

    Args:
        optim_wrapper: one wrapper or an ``OptimWrapperDict``; all must accumulate alike.
        auto_scale_lr: the config's ``auto_scale_lr``; nothing happens unless ``enable``.
        batch: images per process per forward (the train loader's batch size).
        world_size: processes.
        schedulers: the runner's parameter schedulers, which must not be built yet (they record
            the initial lr).
        logger: where the rule and the result are written.
    """
    if not auto_scale_lr or not auto_scale_lr.get('enable', False):
        return
    if schedulers_built(schedulers):
        raise RuntimeError(
            'scale_lr must run before the parameter schedulers are built: '
            'they record the initial lr'
        )
    wrappers = wrappers_of(optim_wrapper)
    accumulation = accumulation_of(optim_wrapper)
    ratio = lr_factor(auto_scale_lr, world_size, batch, accumulation)
    effective = effective_batch_size(batch, world_size, accumulation)
    base = auto_scale_lr['base_batch_size']
    for wrapper in wrappers:
        for group in wrapper.optimizer.param_groups:
            group['lr'] *= ratio
    lrs = sorted({group['lr'] for w in wrappers for group in w.optimizer.param_groups})
    logger.info(
        f'lr scaled by effective batch / base batch = (batch {batch} x {world_size} '
        f'processes x {accumulation} accumulation) / {base} = {effective} / {base} = '
        f'{ratio:g}; lr now {lrs[-1]:.6g}'
        + (f' (lowest group {lrs[0]:.6g})' if len(lrs) > 1 else '')
    )


def drop_config_text(checkpoint: dict, filename: str | os.PathLike, logger: logging.Logger) -> None:
    """Remove ``meta['config']`` and ``meta['cfg']`` from ``checkpoint`` unread (in place)."""
    meta = checkpoint.get('meta')
    if not isinstance(meta, dict):
        return
    dropped = [key for key in CONFIG_TEXT_KEYS if meta.pop(key, None) is not None]
    if dropped:
        named = ', '.join(f'meta[{key!r}]' for key in dropped)
        logger.info(f'{os.fspath(filename)}: {named} text ignored (never executed)')
