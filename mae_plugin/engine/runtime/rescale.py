"""Resuming on another batch layout: the lr follows the rule for the layout of *this* run.

With ``auto_scale_lr`` the runner scales the configured lr by (batch x processes x accumulation)
/ base batch before it resumes; resuming then loads the optimizer's and the schedulers' state,
which hold the lr of the run that wrote the checkpoint. The official code recomputes the lr from
the current effective batch at every step, so a run resumed on 1 process from 2 must step with
half the lr the 2-process run had. Each checkpoint records its layout as plain data
(``meta['batch_layout']``); after the state is loaded, every lr value it restored (the groups'
``lr`` and ``initial_lr``, each lr scheduler's ``base_values`` and last values) is multiplied by
new / old lr factor. Without ``auto_scale_lr`` the factor is 1 on both sides: nothing changes.

The rescaled run equals a fresh run of the new layout exactly when every lr scheduler is
homogeneous in the lr (multiplicative, or annealing to 0 or to a ratio of the base); an
absolute, non-zero ``eta_min`` (which ``auto_scale_lr`` does not scale in a fresh run) or a
scheduler holding lr values elsewhere (OneCycle, ReduceOnPlateau) is refused rather than guessed.
"""

from __future__ import annotations

import logging
from typing import Any

from mmengine.optim import OptimWrapper
from mmengine.optim.scheduler import (
    ConstantParamScheduler,
    CosineAnnealingParamScheduler,
    CosineRestartParamScheduler,
    ExponentialParamScheduler,
    LinearParamScheduler,
    MultiStepParamScheduler,
    PolyParamScheduler,
    StepParamScheduler,
    _ParamScheduler,
)

from .runner_rules import accumulation_of, lr_factor, wrappers_of

LAYOUT_META = 'batch_layout'  # checkpoint['meta'][LAYOUT_META]: plain data, never code
# lr schedulers whose values are a product of the base lr and factors of the step
HOMOGENEOUS = (
    ConstantParamScheduler,
    CosineAnnealingParamScheduler,
    CosineRestartParamScheduler,
    ExponentialParamScheduler,
    LinearParamScheduler,
    MultiStepParamScheduler,
    PolyParamScheduler,
    StepParamScheduler,
)


def batch_layout(runner: Any) -> dict[str, Any]:
    """The layout of ``runner``'s training (MAERunner or MAEFlexibleRunner) as plain data."""
    loader = runner.train_dataloader
    batch = loader.batch_size
    if batch is None:  # a batch sampler (mmdet's AspectRatioBatchSampler) holds it
        batch = getattr(loader.batch_sampler, 'batch_size', None)
    layout = dict(
        processes=int(runner.world_size),
        batch=batch,
        accumulation=int(accumulation_of(runner.optim_wrapper)),
    )
    auto_scale_lr = runner.cfg.get('auto_scale_lr')
    if not isinstance(batch, int):
        if auto_scale_lr and auto_scale_lr.get('enable', False):
            raise ValueError(
                'the lr rule needs the batch size per process: the training DataLoader has '
                f'batch_size={batch!r}'
            )
        batch = 1  # the factor is 1 whatever the batch
    layout['lr_factor'] = lr_factor(
        auto_scale_lr, layout['processes'], batch, layout['accumulation']
    )
    return layout


def _describe(layout: dict[str, Any]) -> str:
    return f'{layout["processes"]} processes x {layout["batch"]} x {layout["accumulation"]}'


def _lr_schedulers(schedulers: Any) -> list[_ParamScheduler]:
    if isinstance(schedulers, dict):
        return [s for group in schedulers.values() for s in _lr_schedulers(group)]
    if isinstance(schedulers, (list, tuple)):
        return [s for s in schedulers if isinstance(s, _ParamScheduler) and s.param_name == 'lr']
    return _lr_schedulers([schedulers]) if isinstance(schedulers, _ParamScheduler) else []


def _check_homogeneous(scheduler: _ParamScheduler) -> None:
    name = type(scheduler).__name__
    if not isinstance(scheduler, HOMOGENEOUS):
        raise ValueError(
            f'resuming on another batch layout rescales the lr, but {name} holds lr values the '
            'rescale cannot follow: resume with the layout of the checkpoint'
        )
    eta_min = getattr(scheduler, 'eta_min', None)
    if getattr(scheduler, 'eta_min_ratio', None) is None and eta_min:
        raise ValueError(
            f'resuming on another batch layout rescales the lr, but {name} anneals to the '
            f'absolute eta_min={eta_min:g}, which auto_scale_lr does not scale: use '
            'eta_min_ratio (a fraction of the scaled lr) or resume with the layout of the '
            'checkpoint'
        )


def rescale_resumed_lr(
    optim_wrapper: OptimWrapper,
    schedulers: Any,
    saved: dict[str, Any],
    current: dict[str, Any],
    logger: logging.Logger,
) -> float:
    """Multiply every lr the resumed state holds by ``current`` / ``saved`` lr factor, in place.

    Args:
        optim_wrapper: the runner's wrapper (or ``OptimWrapperDict``), its state resumed.
        schedulers: the runner's parameter schedulers (list or dict of lists), state resumed.
        saved: ``meta['batch_layout']`` of the checkpoint.
        current: :func:`batch_layout` of this run.
        logger: where the rescale is written.

    Returns:
        The ratio applied (1.0: nothing changed).
    """
    ratio = current['lr_factor'] / saved['lr_factor']
    if ratio == 1.0:
        return ratio
    lr_schedulers = _lr_schedulers(schedulers)
    for scheduler in lr_schedulers:
        _check_homogeneous(scheduler)
    wrappers = wrappers_of(optim_wrapper)
    before = max(g['lr'] for w in wrappers for g in w.optimizer.param_groups)
    for wrapper in wrappers:
        for group in wrapper.optimizer.param_groups:
            group['lr'] *= ratio
            if 'initial_lr' in group:
                group['initial_lr'] *= ratio
    for scheduler in lr_schedulers:
        # OptimWrapper.param_groups ends with base_param_settings (the unscaled config lr,
        # logged as base_lr) when it has several groups: that entry is left as it is
        inner = getattr(scheduler.optimizer, 'optimizer', scheduler.optimizer)
        count = len(inner.param_groups)
        for name in ('base_values', '_last_value'):
            values = getattr(scheduler, name, None)
            if values is not None:
                scaled = [v * ratio if i < count else v for i, v in enumerate(values)]
                setattr(scheduler, name, scaled)
    after = max(g['lr'] for w in wrappers for g in w.optimizer.param_groups)
    logger.info(
        f'resumed from a run of {_describe(saved)}; lr rescaled from {before:.6g} to '
        f'{after:.6g} (x{ratio:g}) for {_describe(current)} (batch x accumulation), with every '
        "group's initial lr and every lr scheduler's base values"
    )
    return ratio
