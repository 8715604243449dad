"""Run the plan resumably and read each run's numbers back from what the tools left.

A run whose ``result.json`` exists is skipped; a run folder without one (an interrupted run) is
removed and the run starts over. ``result.json`` is written last and atomically, so a run that
has one is complete. Each run's output goes to ``<work root>/logs/<kind>_<name>.log``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mae_plugin.analysis.curves import load_run, series

from .plan import ROOT, Run, check_mask_ratio

RESULT = 'result.json'
PEER_ROW = re.compile(r'^(plugin|mask_tokens)\s+([\d.]+)\s+(?:[\d.]+x|-)\s+([\d.]+)\s')


def write_bytes(data: bytes, path: str) -> None:
    """``path`` written whole or not at all: temp file in its folder, fsync, rename."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp-')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_json(data: Any, path: str) -> None:
    write_bytes((json.dumps(data, indent=1, sort_keys=True) + '\n').encode('utf-8'), path)


def last_value(work_dir: str, key: str) -> tuple[int, float]:
    """(step, value) of the last logged ``key`` of a run; a run that never logged it is an
    error naming the work dir."""
    steps, values = series(load_run(work_dir), key)
    if not steps:
        raise ValueError(f'{work_dir}: no {key!r} in its scalars.json')
    return steps[-1], values[-1]


def read_result(run: Run, work_dir: str) -> dict[str, float]:
    """The numbers of a finished run: kNN top-1 (before training and at the end) and the last
    loss of a pretraining; top-1 on the held-out digits at the end of an evaluation."""
    if run.kind == 'pretrain':
        steps, knn = series(load_run(work_dir), 'knn_top1')
        if len(knn) < 2 or steps[0] != 0:
            raise ValueError(
                f'{work_dir}: kNN top-1 at step 0 and at the end expected, got {steps}'
            )
        return dict(knn_top1=knn[-1], knn_top1_random=knn[0], loss=last_value(work_dir, 'loss')[1])
    return dict(top1=last_value(work_dir, 'accuracy/top1')[1])


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint MMEngine's ``last_checkpoint`` file names (the end of the schedule)."""
    path = os.path.join(work_dir, 'last_checkpoint')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path} missing: the pretraining did not finish')
    with open(path, encoding='utf-8') as f:
        return f.read().strip()


def child_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault('OMP_NUM_THREADS', str(threads))
    env.setdefault('MKL_NUM_THREADS', env['OMP_NUM_THREADS'])
    return env


class Runner:
    """Runs chains of :class:`Run` on ``jobs`` workers, prints one line per run with the elapsed
    time, and keeps each run's result (loaded from ``result.json`` when it was done before)."""

    def __init__(self, root: str, jobs: int, total: int) -> None:
        self.root = root
        self.jobs = jobs
        self.total = total
        self.threads = max(1, (os.cpu_count() or 1) // jobs)
        self.start = time.perf_counter()
        self.done = 0
        self.lock = threading.Lock()
        self.results: dict[str, dict[str, Any]] = {}

    def say(self, run: Run, what: str) -> None:
        with self.lock:
            self.done += 1
            elapsed = time.perf_counter() - self.start
            print(
                f'[{self.done:>2}/{self.total}] {run.key:<26} {what} '
                f'(elapsed {elapsed / 60:.1f} min)',
                flush=True,
            )

    def run(self, run: Run) -> None:
        work_dir = run.work_dir(self.root)
        result_path = os.path.join(work_dir, RESULT)
        if os.path.isfile(result_path):
            with open(result_path, encoding='utf-8') as f:
                self.results[run.key] = json.load(f)
            self.say(run, 'done before, skipped')
            return
        if os.path.isdir(work_dir):  # interrupted: start the run over
            shutil.rmtree(work_dir)
        if run.kind == 'pretrain':
            check_mask_ratio(run)
        checkpoint = None
        if run.init_from is not None:
            checkpoint = last_checkpoint(run.init_from.work_dir(self.root))
        command = run.command(self.root, checkpoint)
        log_path = os.path.join(self.root, 'logs', f'{run.kind}_{run.name}.log')
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        began = time.perf_counter()
        with open(log_path, 'w', encoding='utf-8') as log:
            code = subprocess.call(
                [
                    sys.executable,
                    os.path.join(ROOT, command[0]),
                    os.path.join(ROOT, command[1]),
                    *command[2:],
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=child_env(self.threads),
            )
        if code != 0:
            raise RuntimeError(f'{run.key} failed (exit {code}): see {log_path}')
        result = dict(
            read_result(run, work_dir),
            wall_s=time.perf_counter() - began,
            command=['python', *command],
            threads=self.threads,
        )
        write_json(result, result_path)
        self.results[run.key] = result
        numbers = ', '.join(
            f'{k} {v:.1f}' for k, v in result.items() if k.endswith(('top1', 'loss'))
        )
        self.say(run, f'{result["wall_s"] / 60:.1f} min: {numbers}')

    def run_chain(self, chain: list[Run]) -> None:
        for run in chain:
            self.run(run)

    def run_all(self, chains: list[list[Run]]) -> None:
        """Every chain; a failed run stops its chain, the others go on, then the first failure
        is raised."""
        with ThreadPoolExecutor(self.jobs) as pool:
            futures = [pool.submit(self.run_chain, c) for c in chains]
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            raise errors[0]


def benchmark(root: str, config: str, args: list[str]) -> dict[str, Any]:
    """``tools/benchmark.py CONFIG --peers plugin mask_tokens ...`` (Table 2): img/s and GFLOP
    per image of the encoder on visible tokens and with mask tokens, from its printed table
    (the full output in ``<root>/benchmark.txt``). Skipped when ``<root>/benchmark.json``
    exists."""
    path = os.path.join(root, 'benchmark.json')
    if os.path.isfile(path):
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    command = ['tools/benchmark.py', config, *args]
    began = time.perf_counter()
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, command[0]), os.path.join(ROOT, config), *args],
        capture_output=True,
        text=True,
    )
    with open(os.path.join(root, 'benchmark.txt'), 'w', encoding='utf-8') as f:
        f.write(out.stdout + out.stderr)
    if out.returncode != 0:
        raise RuntimeError(f'{" ".join(command)} failed: see {root}/benchmark.txt')
    peers = {}
    for line in out.stdout.splitlines():
        match = PEER_ROW.match(line)
        if match:
            peers[match[1]] = dict(img_per_s=float(match[2]), gflop_per_img=float(match[3]))
    if set(peers) != {'plugin', 'mask_tokens'}:
        raise ValueError(f'no plugin and mask_tokens rows in {root}/benchmark.txt')
    result = dict(
        peers=peers,
        speedup=peers['plugin']['img_per_s'] / peers['mask_tokens']['img_per_s'],
        flop_ratio=peers['mask_tokens']['gflop_per_img'] / peers['plugin']['gflop_per_img'],
        machine=out.stdout.splitlines()[0],
        command=['python', *command],
        wall_s=time.perf_counter() - began,
    )
    write_json(result, path)
    return result
