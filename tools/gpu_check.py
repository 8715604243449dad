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
peak at 58.5 GFLOP per image, memory), prints a one-screen summary, and exits 1 when a test
failed or a step failed or timed out. Without CUDA it exits 2, unless ``--allow-cpu``: a dry run
of this logic on the CPU at tiny sizes (the tests' MAE_GPU_CHECK_DEVICE=cpu), not a measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOXES = {'env': 30, 'tests': 240, 'peers': 150, 'data': 45}
OUTPUT_KEPT = 8000  # characters of each step's output in the result file
GFLOP_PER_IMAGE = 58.5  # one MAE ViT-B/16 training image, torch's counter (docs/benchmarks.md)
TARGET_IMG_S = 5000  # issue 23: ViT-B bf16 at batch 256 on an H100
# dense bf16 tensor-core peaks, TFLOP/s, from NVIDIA's datasheets (their sparsity figures / 2);
# the first rule whose words all appear in the device name applies
BF16_PEAKS = ((('H100', 'PCIe'), 756.0), (('H100', 'HBM3'), 989.0), (('H100', 'SXM'), 989.0))
BF16_PEAKS += ((('H200',), 989.0), (('A100',), 312.0))
EXCLUDED_PEAK_WORDS = ('NVL',)  # NVL parts run other clocks: no peak claimed for them
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


def parse_env(output: str) -> dict[str, Any] | None:
    found = re.findall(r'^GPU_CHECK_ENV (\{.*\})$', output, re.M)
    return json.loads(found[-1]) if found else None


def parse_pytest(output: str) -> dict[str, Any]:
    """Each test's last status from ``pytest -v`` lines (a timed-out run keeps what it printed)
    and pytest's closing line."""
    status: dict[str, str] = {}
    for test, word in re.findall(
        r'^(tests/\S+::\S+) (PASSED|FAILED|SKIPPED|ERROR)\b', output, re.M
    ):
        status[test] = 'ERROR' if status.get(test) == 'ERROR' else word
    for word, test in re.findall(r'^(FAILED|ERROR) (tests/\S+::\S+)', output, re.M):
        status[test] = word
    counts = {w: sum(s == w for s in status.values()) for w in ('PASSED', 'FAILED', 'SKIPPED')}
    counts['ERROR'] = sum(s == 'ERROR' for s in status.values())
    closing = re.findall(r'^=+ (.* in [\d.]+s.*?) =+$', output, re.M)
    bad = sorted(t for t, s in status.items() if s in ('FAILED', 'ERROR'))
    return dict(tests=status, counts=counts, failed=bad, closing=closing[-1] if closing else None)


def parse_peers(output: str) -> dict[str, Any]:
    """The peer table of ``tools/benchmark.py``'s default mode (or, cut short, its rounds)."""
    head = re.search(r'^device \S+ \((.*?)\), .*?matmul peak ([\d.]+) GFLOP/s', output, re.M)
    rows = {}
    pattern = r'^(\w+)\s+([\d.]+)\s+(\S+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)%\s+(\d+)\s+([\d.]+)$'
    for peer, img, _, gflop, _, share, mib, params in re.findall(pattern, output, re.M):
        rows[peer] = dict(img_per_s=float(img), gflop_per_img=float(gflop), peak_mib=float(mib))
        rows[peer].update(of_measured_peak=int(share) / 100, params_m=float(params))
    if not rows:  # no table: the rounds that finished
        for peer, img in re.findall(r'^\s+round \d+ (\w+): ([\d.]+) img/s', output, re.M):
            rows[peer] = dict(img_per_s=max(float(img), rows.get(peer, {}).get('img_per_s', 0)))
    return dict(
        device=head.group(1) if head else None,
        measured_peak_gflop_s=float(head.group(2)) if head else None,
        rows=rows,
    )


def parse_data(output: str) -> dict[str, float]:
    """Best img/s per core of each pipeline and decoder of ``--data``'s table."""
    table = output.split('pipeline / decoder (per core)', 1)[-1] if 'per core)' in output else ''
    return {n.strip(): float(v) for n, v in re.findall(r'^(.+?)\s+(\d+)\s+[\d.]+x$', table, re.M)}


def bf16_peak_tflops(device: str | None) -> float | None:
    """The dense bf16 peak of ``device`` by its name, None where unknown."""
    if not device or any(w in device for w in EXCLUDED_PEAK_WORDS):
        return None
    return next((peak for words, peak in BF16_PEAKS if all(w in device for w in words)), None)


def peak_share(img_per_s: float, peak_tflops: float | None) -> float | None:
    """Share of the bf16 peak that ``img_per_s`` MAE ViT-B images (58.5 GFLOP each) use."""
    return None if peak_tflops is None else img_per_s * GFLOP_PER_IMAGE * 1e9 / (peak_tflops * 1e12)


def _rate(img_per_s: float) -> str:
    return f'{img_per_s:,.0f}' if img_per_s >= 100 else f'{img_per_s:.3g}'


def _peer_rows(env: dict, peers: dict) -> list[tuple[str, float, float | None, dict]]:
    """(peer, img/s, share of the bf16 peak or None, row) of each measured peer."""
    peak = bf16_peak_tflops(env.get('device'))
    return [(k, r['img_per_s'], peak_share(r['img_per_s'], peak), r) for k, r in peers.items()]


def markdown(env: dict, results: dict[str, Any], date: str) -> str:
    """The block for docs/benchmarks.md: what ran where, the peer and data tables, the tests."""
    peak = bf16_peak_tflops(env.get('device'))
    keys = ('torch', 'cuda', 'cudnn', 'timm', 'lightly', 'transformers')
    versions = ', '.join(f'{k} {env[k]}' for k in keys if env.get(k))
    title = f'GPU: {env["device"]}, ViT-B/16 bf16, batch 256' if env.get('device') else None
    out = [
        f'## {title or "Dry run on the CPU at tiny sizes (not a measurement)"} — {date}',
        '',
        f'`make gpu-check` (`tools/gpu_check.py`): {versions}; {env.get("cpus")} CPU cores.',
        '',
    ]
    peers, data, tests = (results.get(k) for k in ('peers', 'data', 'tests'))
    if peers:
        said = f'{peak:g} TFLOP/s' if peak else f'unknown for {env.get("device", "a CPU")!r}'
        out += ['```bash', '# needs: a GPU', 'python ' + ' '.join(peers['argv'][1:]), '```', '']
        out += [
            f'| peer | img/s | of bf16 peak ({said}) at {GFLOP_PER_IMAGE} GFLOP/img | of the '
            'measured matmul rate | GFLOP/img counted | peak memory GiB |',
            '| --- | ---: | ---: | ---: | ---: | ---: |',
        ]
        for name, img, share, row in _peer_rows(env, peers['rows']):
            gib = '-' if row.get('peak_mib') is None else f'{row["peak_mib"] / 1024:.1f}'
            measured = row.get('of_measured_peak')
            out.append(
                f'| {name} | {_rate(img)} | {"-" if share is None else f"{share:.0%}"} | '
                f'{"-" if measured is None else f"{measured:.0%}"} | '
                f'{row.get("gflop_per_img", "-")} | {gib} |'
            )
        plugin = peers['rows'].get('plugin', {}).get('img_per_s')
        if plugin is not None:
            met = 'met' if plugin >= TARGET_IMG_S else 'not met'
            out += [
                '',
                f'Issue 23 target, plugin >= {TARGET_IMG_S:,} img/s: {_rate(plugin)}, {met}.',
            ]
        out += [f'Step status: {peers["status"]}.', '']
    if data:
        out += ['| pipeline / decoder, one CPU core | img/s |', '| --- | ---: |']
        out += [f'| {name} | {rate:.0f} |' for name, rate in data['rates'].items()]
        out += [f'Step status: {data["status"]}.', '']
    if tests:
        c = tests['counts']
        out += [
            f'GPU tests (`pytest -m gpu tests/gpu`, {tests["status"]}): {c["PASSED"]} passed, '
            f'{c["FAILED"] + c["ERROR"]} failed, {c["SKIPPED"]} skipped.',
            '',
            '| test | measured |',
            '| --- | --- |',
        ]
        for row in tests['records']:
            nums = ', '.join(_number(k, v) for k, v in row.items() if k not in NOT_SHOWN)
            out.append(f'| `{row["test"].split("::")[-1]}` | {nums} |')
    return '\n'.join(out) + '\n'


NOT_SHOWN = ('test', 'device', 'arch', 'batch')


def _number(key: str, value: Any) -> str:
    """``key value`` of a test's record: cosines to 6 places, lists as first -> last."""
    if isinstance(value, list) and value:
        return f'{key} {_number("", value[0])[1:]} -> {_number("", value[-1])[1:]}'
    if isinstance(value, float):
        return f'{key} {value:.6f}' if 'cosine' in key else f'{key} {value:.3g}'
    return f'{key} {value}'


def summary(env: dict, results: dict[str, Any], out_path: str) -> str:
    """One line a step: status, seconds, the main numbers; the failed tests by name."""
    lines = [
        f'gpu-check on {env.get("device") or "the CPU (dry run)"} '
        f'(torch {env.get("torch")}, CUDA {env.get("cuda")})'
    ]
    for name, r in results.items():
        said = ''
        if name == 'tests':
            c = r['counts']
            said = (
                f'{c["PASSED"]} passed, {c["FAILED"] + c["ERROR"]} failed, {c["SKIPPED"]} skipped'
            )
            said += ''.join(f'\n      FAILED {t}' for t in r['failed'])
        elif name == 'peers':
            said = (
                ', '.join(
                    f'{p} {_rate(img)} img/s' + ('' if s is None else f' ({s:.0%} of peak)')
                    for p, img, s, _ in _peer_rows(env, r['rows'])
                )
                or 'no numbers'
            )
        elif name == 'data':
            said = ', '.join(f'{k} {v:.0f} img/s/core' for k, v in list(r['rates'].items())[:2])
        lines.append(f'  {name:<6} {r["status"]:<10}{r["seconds"]:>7.1f} s  {said}')
    return '\n'.join([*lines, f'result: {out_path}'])


def write_atomic(path: str, text: str) -> None:
    """Temp file, fsync, rename. Not ``mae_plugin.checkpoints.atomic``: this tool runs before
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
