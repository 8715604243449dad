"""Training curves from MMEngine's ``LocalVisBackend`` logs, one subplot per key.

A run writes ``<work_dir>/<timestamp>/vis_data/scalars.json``: one JSON object per line, each
with ``step`` (the iteration in the plugin's pretraining, kNN rows included). A resumed run adds
a timestamp folder to the same work dir: the runs are read oldest first and a later run's
steps replace an earlier run's (it redid them from a checkpoint). Within one file the rows of a
step are merged key by key, a later row winning (the kNN row of step N comes after the training
row, which carries the previous kNN value). Plain JSON, nothing in it runs.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Sequence

from matplotlib.figure import Figure

from ..fileio import atomic_write_bytes

TIMESTAMP = re.compile(r'^\d{8}_\d{6}$')  # MMEngine's run folder name
SCALARS = os.path.join('vis_data', 'scalars.json')
Log = dict[int, dict[str, float]]  # step -> {key: value}


def scalar_files(work_dir: str | os.PathLike) -> list[str]:
    """The ``scalars.json`` of each run in ``work_dir``, oldest first.

    ``work_dir`` may also be a scalars.json itself. A timestamp folder without one (a run that
    logged nothing) is passed over.

    Raises:
        FileNotFoundError: ``work_dir`` does not exist or holds no run's scalars.json.
    """
    work_dir = os.fspath(work_dir)
    if os.path.isfile(work_dir):
        return [work_dir]
    if not os.path.isdir(work_dir):
        raise FileNotFoundError(f'work dir {work_dir!r} does not exist')
    runs = sorted(
        n
        for n in os.listdir(work_dir)
        if TIMESTAMP.match(n) and os.path.isfile(os.path.join(work_dir, n, SCALARS))
    )
    if not runs:
        raise FileNotFoundError(
            f'{work_dir!r} holds no <timestamp>/{SCALARS} (the log '
            "MMEngine's LocalVisBackend writes); is it a run's work dir?"
        )
    return [os.path.join(work_dir, n, SCALARS) for n in runs]


def read_scalars(path: str | os.PathLike) -> Log:
    """Read one scalars.json into step -> {key: value}, the rows of a step merged.

    A later row of the same step wins, key by key.

    Raises:
        ValueError: a line is not a JSON object with an integer ``step``, naming the file and
            the line (a run killed mid-write leaves a cut last line).
    """
    log: Log = {}
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(
                    f'{os.fspath(path)}, line {number}: not JSON ({err}); a line '
                    'cut short by a killed run? Delete it to plot the rest'
                ) from None
            step = row.get('step') if isinstance(row, dict) else None
            if not isinstance(step, int) or isinstance(step, bool):
                raise ValueError(
                    f'{os.fspath(path)}, line {number}: no integer "step" in {line.strip()[:120]}'
                )
            log.setdefault(step, {}).update({k: v for k, v in row.items() if k != 'step'})
    return log


def load_run(work_dir: str | os.PathLike) -> Log:
    """Every run of ``work_dir`` concatenated into one step -> {key: value} log, key by key.

    A later run's value of a key at a step replaces an earlier's; keys it does not log there
    (a kNN row measured before a resumed run's first step, beside the first run's training
    row) are kept.
    """
    log: Log = {}
    for path in scalar_files(work_dir):
        for step, row in read_scalars(path).items():
            log.setdefault(step, {}).update(row)
    return log


def series(log: Log, key: str) -> tuple[list[int], list[float]]:
    """(steps, values) of ``key``, in step order, at the steps that log it."""
    steps = sorted(s for s, row in log.items() if key in row)
    return steps, [float(log[s][key]) for s in steps]


def _labels(work_dirs: Sequence[str], legend: Sequence[str] | None) -> list[str]:
    if legend is not None:
        if len(legend) != len(work_dirs) or len(set(legend)) != len(legend):
            raise ValueError(
                f'the legend {list(legend)} does not give {len(work_dirs)} '
                'distinct names, one per work dir'
            )
        return list(legend)
    names = [os.path.basename(os.path.normpath(w)) for w in work_dirs]
    return names if len(set(names)) == len(names) else list(work_dirs)


def plot_curves(
    work_dirs: Sequence[str | os.PathLike],
    keys: Sequence[str],
    out: str | os.PathLike,
    legend: Sequence[str] | None = None,
    title: str | None = None,
    width: float = 8.0,
    height: float = 3.0,
    dpi: int = 100,
) -> dict[str, dict[str, tuple[list[float], list[float]]]]:
    """Plot ``keys`` of each work dir against the step, one subplot per key, into ``out``.

    Args:
        work_dirs: the runs' work dirs (or scalars.json files), one line each per subplot.
        keys: the logged keys to draw, one subplot each.
        out: the image, written atomically; the format follows its ending (.png, .pdf, .svg).
        legend: one distinct name per work dir; None takes the folder names.
        title: drawn above the first subplot.
        width: image width in inches.
        height: height of one subplot in inches.
        dpi: pixels per inch.

    Returns:
        For each legend label, key -> (x, y) as drawn (read back from the plotted lines).

    Raises:
        ValueError: no keys, a legend that does not fit, or a key missing from a work dir's
            log (listing the keys it has).
    """
    if not keys:
        raise ValueError('no keys to plot')
    dirs = [os.fspath(w) for w in work_dirs]
    labels = _labels(dirs, legend)
    logs = [load_run(w) for w in dirs]
    for work_dir, log in zip(dirs, logs, strict=True):
        present = {k for row in log.values() for k in row}
        missing = [k for k in keys if k not in present]
        if missing:
            raise ValueError(f'{missing} not in the log of {work_dir!r}; it has {sorted(present)}')
    fig = Figure(figsize=(width, height * len(keys)), dpi=dpi)
    axes = fig.subplots(len(keys), 1, squeeze=False, sharex=True)[:, 0]
    drawn: dict[str, dict[str, tuple[list[float], list[float]]]] = {n: {} for n in labels}
    for ax, key in zip(axes, keys, strict=True):
        for label, log in zip(labels, logs, strict=True):
            steps, values = series(log, key)
            marker = 'o' if len(steps) <= 50 else None  # sparse keys (kNN) stay visible
            (line,) = ax.plot(
                steps, values, label=label, linewidth=1.2, marker=marker, markersize=3
            )
            drawn[label][key] = (
                [float(x) for x in line.get_xdata()],
                [float(y) for y in line.get_ydata()],
            )
        ax.set_ylabel(key)
        ax.grid(True, alpha=0.3)
        ax.legend(loc='best', fontsize='small')
    axes[-1].set_xlabel('iteration (step)')
    if title:
        axes[0].set_title(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fmt = os.path.splitext(os.fspath(out))[1].lstrip('.').lower() or 'png'
    fig.savefig(buffer, format=fmt)
    atomic_write_bytes(buffer.getvalue(), out)
    return drawn
