"""What a finished demo run left behind, and what to run next (the end of ``make demo``).

Reads the work dir only: ``last_checkpoint`` (MMEngine's pointer to the newest checkpoint), the
reconstruction pictures under ``<timestamp>/vis_data/vis_image/`` and the logged scalars; draws
the curves into ``<work_dir>/curves.png`` with :func:`plot_curves`. Something missing is an
error naming it: a summary never points at a file that is not there.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .curves import load_run, plot_curves, series

PICTURE = re.compile(r'reconstruction_(\d+)\.png$')

# (command, what it does, the work dir it writes: left out of the list after that very run)
NEXT_STEPS = (
    (
        'make demo-cls',
        'fine-tune and linear-probe the demo MAE on the demo tiles (~3 min)',
        'vit-t-mae_finetune_demo',
    ),
    (
        'make demo-det',
        'Mask R-CNN (ViTDet recipe) on the demo coins; mmcv is built once, ~20 min',
        'mask-rcnn_vit-t-mae_demo',
    ),
    (
        'make demo-seg',
        'UperNet on the demo segmentation set; mmcv is built once, ~20 min',
        'upernet_vit-t-mae_demo',
    ),
    (
        'make demo-digits',
        'does pretraining learn? kNN on handwritten digits rises from the random encoder',
        'mae_vit-t_digits',
    ),
    (
        'python tools/train_lightning.py fit --config configs/lightning/mae_vit-t_demo.yaml',
        'the same pretraining with PyTorch Lightning',
        None,
    ),
)


@dataclass
class RunSummary:
    """Paths (as given or relative to the current folder) and first/last logged numbers."""

    work_dir: str
    checkpoint: str
    pictures: list[str]  # reconstruction pictures, by step
    curves: str
    first_last: dict[str, tuple[tuple[int, float], tuple[int, float]]]  # key -> (step, value) x 2


def _short(path: str) -> str:
    """``path`` relative to the current folder when it lies below it."""
    rel = os.path.relpath(path)
    return path if rel.startswith('..') else rel


def newest_checkpoint(work_dir: str) -> str:
    """The checkpoint ``<work_dir>/last_checkpoint`` names; an error when absent."""
    pointer = os.path.join(work_dir, 'last_checkpoint')
    if not os.path.isfile(pointer):
        raise FileNotFoundError(f'{pointer!r} does not exist: the run saved no checkpoint')
    with open(pointer, encoding='utf-8') as f:
        path = f.read().strip()
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{pointer!r} names {path!r}, which does not exist')
    return path


def reconstruction_pictures(work_dir: str) -> list[str]:
    """The reconstruction pictures of every run of ``work_dir``, in step order.

    A later run's picture of the same step wins.

    Raises:
        FileNotFoundError: there is none.
    """
    by_step: dict[int, str] = {}
    pattern = os.path.join(work_dir, '*', 'vis_data', 'vis_image', 'reconstruction_*.png')
    for path in sorted(glob.glob(pattern)):  # timestamp folders sort oldest first
        match = PICTURE.search(path)
        if match:
            by_step[int(match.group(1))] = path
    if not by_step:
        raise FileNotFoundError(f'no reconstruction picture in {pattern!r}')
    return [by_step[step] for step in sorted(by_step)]


def summarize(work_dir: str, keys: Sequence[str] = ('loss', 'knn_top1')) -> RunSummary:
    """Check what ``work_dir`` holds and draw ``keys`` into ``<work_dir>/curves.png``."""
    checkpoint = newest_checkpoint(work_dir)
    pictures = reconstruction_pictures(work_dir)
    curves = os.path.join(work_dir, 'curves.png')
    plot_curves([work_dir], keys, curves, title=os.path.basename(os.path.normpath(work_dir)))
    log = load_run(work_dir)
    first_last = {}
    for key in keys:
        steps, values = series(log, key)
        first_last[key] = ((steps[0], values[0]), (steps[-1], values[-1]))
    return RunSummary(
        _short(work_dir),
        _short(checkpoint),
        [_short(p) for p in pictures],
        _short(curves),
        first_last,
    )


def format_summary(summary: RunSummary, config: str | None = None) -> str:
    """The text ``make demo`` ends with: outputs, first and last numbers, next commands.

    The commands are shell lines with a comment above each; ``config`` fills the
    reconstruction command.
    """
    lines = [
        f'Done. Outputs in {summary.work_dir}/:',
        f'  checkpoint  {summary.checkpoint}',
        f'  pictures    {summary.pictures[-1]}'
        + (f' (and {len(summary.pictures) - 1} earlier)' if len(summary.pictures) > 1 else ''),
        f'  curves      {summary.curves}',
    ]
    for key, ((step0, value0), (step1, value1)) in summary.first_last.items():
        lines.append(f'  {key:<11} {value0:.4g} at step {step0} -> {value1:.4g} at step {step1}')
    name = os.path.basename(os.path.normpath(summary.work_dir))
    lines += [
        '',
        'Next:',
        '# reconstructions of your own images by this checkpoint',
        f'python tools/visualize_reconstruction.py {config or "CONFIG"} {summary.checkpoint} '
        'IMAGE [IMAGE ...] --out recon.png',
    ]
    for command, what, writes in NEXT_STEPS:
        if writes != name:
            lines += [f'# {what}', command]
    return '\n'.join(lines)
