"""The report of ``tools/gpu_check.py``: parsers of its steps' output (``tools/benchmark.py``'s
peer table and ``--data`` table, ``pytest -v``, the environment probe), the bf16-peak arithmetic,
the block for docs/benchmarks.md and the one-screen summary.

Standard library only: ``tools/gpu_check.py`` runs before anything else is known to import on a
lent GPU machine.
"""

from __future__ import annotations

import json
import re
from typing import Any

GFLOP_PER_IMAGE = 58.5  # one MAE ViT-B/16 training image, torch's counter (docs/benchmarks.md)
TARGET_IMG_S = 5000  # issue 23: ViT-B bf16 at batch 256 on an H100
# dense bf16 tensor-core peaks, TFLOP/s, from NVIDIA's datasheets (their sparsity figures / 2);
# the first rule whose words all appear in the device name applies
BF16_PEAKS = ((('H100', 'PCIe'), 756.0), (('H100', 'HBM3'), 989.0), (('H100', 'SXM'), 989.0))
BF16_PEAKS += ((('H200',), 989.0), (('A100',), 312.0))
EXCLUDED_PEAK_WORDS = ('NVL',)  # NVL parts run other clocks: no peak claimed for them


def parse_env(output: str) -> dict[str, Any] | None:
    """The environment probe's JSON line (its last one), None when the probe printed none."""
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
