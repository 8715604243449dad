"""The GPU check of issue 23 (``make gpu-check``): the gpu tests, the benchmarks, one result file.

    python tools/gpu_check.py [--out PATH] [--skip-tests] [--skip-bench] [--timeout-scale X]
        [--allow-cpu]

Each step runs in its own process group with its own time box (seconds; 465 in all, under the
issue's 8 minutes on one H100); a step past its box is killed, recorded as timed out, and the
rest goes on:

- env (30): device name, torch / CUDA / cuDNN / peer package versions;
- tests (240): ``pytest -m gpu tests/gpu`` (the numbers each test measured are kept);
- peers (150): ``tools/benchmark.py configs/mae_vit-b_800e.py --amp --batch-size 256 --peers
  plugin lightly hf`` (one round of 10 timed steps: a dedicated GPU is quiet);
- data (45): the same tool's ``--data``, the training pipeline per CPU core.

Writes PATH (JSON: every step's status, time, parsed numbers and output tail, and under
``markdown`` a block ready for docs/benchmarks.md: device, versions, img/s, share of the bf16
peak at 58.5 GFLOP per image, memory; the parsers and the block: benchmarks/gpu_report.py),
prints a one-screen summary, and exits 1 when a test failed or a step failed or timed out.
Without CUDA it exits 2, unless ``--allow-cpu``: a dry run of this logic on the CPU at tiny sizes
(the tests' MAE_GPU_CHECK_DEVICE=cpu), not a measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# benchmarks/ lives in the checkout, not in the wheel. Appended, not inserted: the installed
# mae_plugin still comes first, and only what nothing installed provides is found here.
if ROOT not in sys.path:
    sys.path.append(ROOT)

from benchmarks.gpu_report import (  # noqa: E402  (needs the checkout, appended above)
    markdown,
    parse_data,
    parse_env,
    parse_peers,
    parse_pytest,
    summary,
)

BOXES = {'env': 30, 'tests': 240, 'peers': 150, 'data': 45}
OUTPUT_KEPT = 8000  # characters of each step's output in the result file
PROBE = """import importlib.metadata as md, json, os, platform, torch
info = dict(torch=torch.__version__, cuda=torch.version.cuda, python=platform.python_version(),
            cpus=os.cpu_count(), cuda_available=torch.cuda.is_available())
for name in ('mmengine', 'lightly', 'timm', 'transformers', 'pytorch_lightning'):
    try: info[name] = md.version(name)
    except md.PackageNotFoundError: info[name] = None
if info['cuda_available']:
    p = torch.cuda.get_device_properties(0)
    info.update(device=p.name, gpus=torch.cuda.device_count(), cudnn=torch.backends.cudnn.version(),
                memory_gib=round(p.total_memory / 2**30, 1), capability=f'{p.major}.{p.minor}',
                bf16=torch.cuda.is_bf16_supported(including_emulation=False))
print('GPU_CHECK_ENV ' + json.dumps(info))
"""
NO_CUDA = (
    'gpu-check: torch {torch} sees no CUDA device; these checks need one GPU (make gpu-check on a '
    'GPU machine). --allow-cpu runs a dry run of the logic at tiny sizes, not a measurement.'
)


@dataclass
class Step:
    name: str
    argv: list[str]
    timeout_s: float
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class StepResult:
    name: str
    argv: list[str]
    status: str  # 'ok', 'failed' (non-zero exit) or 'timed out'
    returncode: int | None
    seconds: float
    output: str

    @property
    def ok(self) -> bool:
        return self.status == 'ok'


def step_env(step: Step) -> dict[str, str]:
    """The step's environment: this checkout first on PYTHONPATH, since the tools import
    ``mae_plugin`` and a lent GPU machine runs the checkout without installing it."""
    paths = [ROOT, *filter(None, os.environ.get('PYTHONPATH', '').split(os.pathsep))]
    return {**os.environ, **step.env, 'PYTHONPATH': os.pathsep.join(paths)}


def run_step(step: Step, echo: bool = True) -> StepResult:
    """Run ``step`` in a new process group, killed whole (torchrun's and spawn's children too)
    past ``step.timeout_s``; its output is echoed line by line and kept."""
    began = time.monotonic()
    proc = subprocess.Popen(
        step.argv,
        cwd=ROOT,
        env=step_env(step),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors='replace',
        start_new_session=True,
    )
    lines: list[str] = []

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            if echo:
                print(f'[{step.name}] {line}', end='', flush=True)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc.wait(timeout=step.timeout_s)
        status = 'ok' if proc.returncode == 0 else 'failed'
    except subprocess.TimeoutExpired:
        status = 'timed out'
    try:  # the step's group: past its box, or what it left behind (loader or pool workers)
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    reader.join(timeout=5)
    seconds = time.monotonic() - began
    returncode = None if status == 'timed out' else proc.returncode
    return StepResult(step.name, step.argv, status, returncode, seconds, ''.join(lines))


def plan(args: argparse.Namespace, cuda: bool, record: str) -> list[Step]:
    """The steps after env: ViT-B on the GPU, or the dry run's tiny sizes on the CPU."""
    py, scale = sys.executable, args.timeout_scale
    bench = [py, 'tools/benchmark.py']
    steps = []
    if not args.skip_tests:
        env = {'MAE_GPU_CHECK_RECORD': record, 'PYTHONUNBUFFERED': '1'}
        if not cuda:
            env.update(MAE_GPU_CHECK_DEVICE='cpu', MAE_GPU_CHECK_ARCH='tiny')
        argv = [py, *'-m pytest -m gpu tests/gpu -v -rfEs -p no:cacheprovider'.split()]
        steps.append(Step('tests', argv, BOXES['tests'] * scale, env))
    if not args.skip_bench:
        if cuda:
            config, sizes = 'configs/mae_vit-b_800e.py', ['--batch-size', '256', '--iters', '10']
            sizes += ['--warmup', '3']
        else:
            config, sizes = 'configs/mae_vit-t_demo.py', ['--batch-size', '2', '--iters', '1']
            sizes += ['--warmup', '0']
        peers = [*bench, config, '--amp', *sizes, '--rounds', '1', '--peers', 'plugin', 'lightly']
        steps.append(Step('peers', [*peers, 'hf'], BOXES['peers'] * scale))
        data = [*bench, config, '--data', '--rounds', '1']
        steps.append(Step('data', data, BOXES['data'] * scale))
    return steps


def write_atomic(path: str, text: str) -> None:
    """Temp file, fsync, rename. Not ``mae_plugin.fileio``: this tool runs before
    the package is importable on a lent GPU machine (its steps get the checkout on PYTHONPATH)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix='.tmp')
    with os.fdopen(fd, 'w', encoding='utf-8') as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        '--out', default=None, help='result file (default work_dirs/gpu_check_<date>.json)'
    )
    parser.add_argument('--skip-tests', action='store_true', help='no pytest -m gpu')
    parser.add_argument('--skip-bench', action='store_true', help='no tools/benchmark.py')
    parser.add_argument(
        '--timeout-scale', type=float, default=1.0, help='multiplies every time box'
    )
    parser.add_argument('--allow-cpu', action='store_true', help='dry run of the logic on a CPU')
    args = parser.parse_args(argv)
    if not args.timeout_scale > 0:
        parser.error(f'--timeout-scale must be > 0, got {args.timeout_scale}')
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    date = time.strftime('%Y-%m-%d')
    out_path = args.out or os.path.join(ROOT, 'work_dirs', f'gpu_check_{date}.json')
    probe = run_step(Step('env', [sys.executable, '-c', PROBE], BOXES['env'] * args.timeout_scale))
    env = parse_env(probe.output)
    if env is None:
        print(f'gpu-check: the environment probe {probe.status}:\n{probe.output}', file=sys.stderr)
        return 2
    if not env['cuda_available'] and not args.allow_cpu:
        print(NO_CUDA.format(torch=env['torch']), file=sys.stderr)
        return 2
    results: dict[str, Any] = {'env': dict(asdict(probe), info=env)}
    with tempfile.TemporaryDirectory() as tmp:
        record = os.path.join(tmp, 'records.jsonl')
        for step in plan(args, env['cuda_available'], record):
            r = run_step(step)
            results[step.name] = dict(asdict(r), output=r.output[-OUTPUT_KEPT:])
            if step.name == 'tests':
                results['tests'].update(parse_pytest(r.output))
                if r.status == 'ok' and results['tests']['counts']['PASSED'] == 0:
                    results['tests']['status'] = 'failed'  # nothing ran: no GPU test passed
                lines = open(record).read().splitlines() if os.path.exists(record) else []
                results['tests']['records'] = [json.loads(line) for line in lines]
            elif step.name == 'peers':
                results['peers'].update(parse_peers(r.output))
            else:
                results['data']['rates'] = parse_data(r.output)
    results['env']['status'] = probe.status
    block = markdown(env, results, date)
    write_atomic(
        out_path, json.dumps(dict(date=date, env=env, steps=results, markdown=block), indent=1)
    )
    print('\n' + block + '\n' + summary(env, results, out_path))
    return 0 if all(r['status'] == 'ok' for r in results.values()) else 1


if __name__ == '__main__':
    sys.exit(main())
