"""The Lightning module's lr schedule as plain data, and what a resume does with it.

``schedule_of`` measures the schedule of this run (the lr rule, warm-up and cosine in optimizer
steps) and its batch layout (devices x batch x accumulation); each checkpoint stores it under
``mae_schedule``. ``resume_schedule`` runs once the optimizer and the scheduler are restored
(``on_train_start``), which every strategy has done by then (DDP restores before
``configure_optimizers``, ``mae_fsdp`` / ``mae_fsdp2`` after it):

- another schedule (``base_lr``, ``warmup_epochs``, ``max_epochs``, ``max_steps``, the data set
  size; or, on the same layout, other step counts) is refused: resuming would follow neither;
- another layout is rescaled, as the official code (which recomputes the lr from the current
  effective batch every step) would: the lr becomes the rule's for this layout, and the
  warm-up + cosine continue from the same fractional epoch in this layout's optimizer steps.
  Only from a checkpoint written at an epoch's end (Lightning resumes the batches of another
  layout from nowhere else: mid-epoch, and even after an epoch's last batch, it counts the
  batches done in the old loader against the new one) and for runs bounded by epochs
  (``max_steps`` counts steps of one layout).
"""

from __future__ import annotations

from typing import Any

from pytorch_lightning.utilities import rank_zero_info

from ..training.lr import scaled_lr
from .optim import WarmupCosine

SCHEDULE_KEY = 'mae_schedule'  # checkpoint[SCHEDULE_KEY]: the lr schedule as plain numbers
SETTINGS = ('base_lr', 'warmup_epochs', 'max_epochs', 'max_steps', 'dataset_size')
LAYOUT = ('devices', 'batch', 'accumulation')
EPOCH_END = 'written_at_epoch_end'  # not saved: read from Lightning's loop state on load
STEPS = ('effective_batch', 'lr', 'steps_per_epoch', 'total_steps', 'warmup_steps')


def schedule_of(base_lr: float, warmup_epochs: float, trainer: Any) -> dict[str, Any]:
    """This run's schedule and layout as plain data.

    Args:
        base_lr: lr per 256 images of effective batch.
        warmup_epochs: epochs of linear warm-up.
        trainer: a fitting Lightning Trainer whose training DataLoader is loaded.

    Raises:
        ValueError: the DataLoader has no integer batch size, or the run has no end.
    """
    loader = trainer.train_dataloader
    batch = getattr(loader, 'batch_size', None)
    if not isinstance(batch, int):
        raise ValueError(
            f'the lr rule needs the batch size per process: the training DataLoader has '
            f'batch_size={batch!r}'
        )
    accumulation = trainer.accumulate_grad_batches
    total = trainer.estimated_stepping_batches
    if not isinstance(total, int):
        raise ValueError(
            'the cosine schedule needs a finite run: set trainer.max_epochs (or max_steps)'
        )
    per_epoch = -(-trainer.num_training_batches // accumulation)
    dataset = getattr(loader, 'dataset', None)
    return dict(
        base_lr=base_lr,
        effective_batch=batch * trainer.world_size * accumulation,
        lr=scaled_lr(base_lr, batch, trainer.world_size, accumulation),
        steps_per_epoch=per_epoch,
        total_steps=total,
        warmup_steps=warmup_epochs * per_epoch,
        warmup_epochs=warmup_epochs,
        max_epochs=trainer.max_epochs,
        max_steps=trainer.max_steps,
        dataset_size=len(dataset) if hasattr(dataset, '__len__') else None,
        devices=trainer.world_size,
        batch=batch,
        accumulation=accumulation,
    )


def resumed_schedule(checkpoint: dict[str, Any]) -> dict[str, Any] | None:
    """The checkpoint's ``mae_schedule``, with whether it was written at the end of an epoch.

    At an epoch's end Lightning starts the next epoch afresh, whatever the length of the new
    loader.
    """
    saved = checkpoint.get(SCHEDULE_KEY)
    if not saved:
        return None
    epochs = checkpoint.get('loops', {}).get('fit_loop', {}).get('epoch_progress', {})
    current = epochs.get('current', {})
    ended = current.get('ready', 0) > 0 and current.get('processed') == current.get('ready')
    return {**saved, EPOCH_END: ended}


def _diffs(saved: dict, current: dict, keys: tuple[str, ...]) -> list[str]:
    return [
        f'{k}: {saved[k]} -> {current.get(k)}'
        for k in keys
        if k in saved and saved[k] != current.get(k)
    ]


def _refuse(diffs: list[str], why: str = '') -> None:
    raise ValueError(
        'the checkpoint being resumed was trained with another schedule, so resuming would '
        'follow neither: ' + '; '.join(diffs) + why + '. Resume with the same trainer/data '
        'settings, or start a new run (model.pretrained=CKPT for its weights).'
    )


def resume_schedule(saved: dict | None, current: dict, trainer: Any) -> None:
    """Refuse another schedule; rescale the restored optimizer and scheduler to another layout.

    Args:
        saved: the checkpoint's ``mae_schedule`` (None: not a resume, nothing to do).
        current: :func:`schedule_of` this run.
        trainer: the Trainer, its optimizer and scheduler state restored from the checkpoint.
    """
    if not saved:
        return
    if not all(k in saved for k in LAYOUT):  # an older checkpoint: every number must match
        diffs = _diffs(saved, current, tuple(k for k in saved if k != EPOCH_END))
        if diffs:
            _refuse(diffs)
        return
    same_layout = all(saved[k] == current[k] for k in LAYOUT)
    diffs = _diffs(saved, current, SETTINGS)
    if same_layout:
        diffs += _diffs(saved, current, STEPS)
    if diffs:
        _refuse(diffs)
    if same_layout:
        return
    layout = (
        f'{saved["devices"]} processes x {saved["batch"]} x {saved["accumulation"]} -> '
        f'{current["devices"]} x {current["batch"]} x {current["accumulation"]}'
    )
    scheduler = trainer.lr_scheduler_configs[0].scheduler
    done = scheduler.last_epoch  # optimizer steps of the old layout
    if current['max_steps'] not in (-1, None):
        _refuse([layout], ' (a run bounded by max_steps counts optimizer steps of one layout)')
    if not saved.get(EPOCH_END) or done % saved['steps_per_epoch']:
        _refuse(
            [layout],
            f' from optimizer step {done}, not written at the end of an epoch (Lightning '
            'places the batches of another layout only from there: resume from a checkpoint '
            'of ModelCheckpoint(every_n_epochs=1, save_on_train_epoch_end=True))',
        )
    _rescale(trainer.optimizers[0], scheduler, saved, current, done, layout)


def _rescale(optimizer, scheduler, saved: dict, current: dict, done: int, layout: str) -> None:
    ratio = current['lr'] / saved['lr']
    step = done // saved['steps_per_epoch'] * current['steps_per_epoch']
    lam = WarmupCosine(current['warmup_steps'], current['total_steps'])
    before = optimizer.param_groups[0]['lr']
    scheduler.lr_lambdas = [lam] * len(optimizer.param_groups)
    scheduler.base_lrs = [base * ratio for base in scheduler.base_lrs]
    scheduler.last_epoch = step
    for group, base in zip(optimizer.param_groups, scheduler.base_lrs, strict=True):
        group['initial_lr'] = base
        group['lr'] = base * lam(step)
    scheduler._last_lr = [group['lr'] for group in optimizer.param_groups]
    rank_zero_info(
        f'resumed from a run of {saved["devices"]} processes x {saved["batch"]} x '
        f'{saved["accumulation"]}; lr rescaled from {before:.6g} to '
        f'{optimizer.param_groups[0]["lr"]:.6g} ({layout}: peak lr {saved["lr"]:.6g} -> '
        f'{current["lr"]:.6g}; optimizer step {done} of {saved["total_steps"]} -> {step} of '
        f'{current["total_steps"]}, the same epoch)'
    )
