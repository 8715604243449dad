"""What a run logged (MMEngine's ``<work_dir>/<timestamp>/vis_data/scalars.json``), found and
merged by ``mae_plugin.analysis`` as ``tools/analyze_logs.py`` reads it."""

from __future__ import annotations

import json
import os

from mae_plugin.analysis.curves import load_run, scalar_files


def runs(work_dir: str | os.PathLike) -> list[list[dict]]:
    """The rows of each run's scalars.json as logged, oldest run first (``work_dir`` may be one
    scalars.json): for tests about which row came first."""
    rows = []
    for path in scalar_files(work_dir):
        with open(path, encoding='utf-8') as f:
            rows.append([json.loads(line) for line in f if line.strip()])
    return rows


def logged(work_dir: str | os.PathLike, key: str) -> dict[int, float]:
    """{step: value} of ``key`` over every run of ``work_dir``, a resumed run's steps winning."""
    return {step: row[key] for step, row in sorted(load_run(work_dir).items()) if key in row}
