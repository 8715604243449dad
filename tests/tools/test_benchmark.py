"""tools/benchmark.py as a user runs it: a subprocess without PYTHONPATH (the tool finds the
checkout's benchmarks/ by itself); --adamw / --attention / --profile / --decode each on the demo
config at its smallest settings."""

import os

from tests.helpers import processes
from tests.helpers.paths import ROOT

DEMO = 'configs/mae_vit-t_demo.py'
TOOL = os.path.join(ROOT, 'tools', 'benchmark.py')


def run_tool(*args: str, cwd: str = ROOT) -> processes.Finished:
    """``python tools/benchmark.py ARGS`` in ``cwd`` as a user's shell runs it: no PYTHONPATH,
    the thread settings of this environment."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    return processes.python(TOOL, *args, cwd=cwd, env=env, timeout=300, check=False)


def lines_of(out: processes.Finished) -> list[str]:
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert lines[0].startswith('device cpu (') and 'thread' in lines[0], lines[0]
    return lines


def test_the_tool_imports_the_checkouts_benchmarks_from_any_folder(tmp_path):
    """The peers' names come from benchmarks/peers.py: read from a folder outside the checkout,
    with no PYTHONPATH, before any measurement starts."""
    out = run_tool(os.path.join(ROOT, DEMO), '--peers', 'plugin', 'nobody', cwd=str(tmp_path))
    assert out.returncode == 2, out.stderr[-3000:]
    assert "unknown peers ['nobody']; choose from ['plugin', 'mask_tokens'" in out.stderr


def test_attention_mode_prints_each_part_and_dtype_per_backend():
    lines = lines_of(
        run_tool(
            DEMO,
            '--attention',
            '--batch-size',
            '2',
            '--iters',
            '1',
            '--rounds',
            '1',
            '--device',
            'cpu',
            '--threads',
            '1',
        )
    )
    assert lines[0].startswith('device cpu (') and '1 thread,' in lines[0]
    assert lines[1].split() == ['part', 'dtype', 'math', 'flash', 'efficient', 'plugin']
    rows = {tuple(line.split()[:2]): line.split()[2:] for line in lines[2:6]}
    assert set(rows) == {
        (part, dtype) for part in ('encoder', 'decoder') for dtype in ('float32', 'bfloat16')
    }
    for cells in rows.values():  # math and flash run on every CPU; efficient has no CPU kernel
        assert float(cells[0]) > 0 and float(cells[1]) > 0 and float(cells[3]) > 0
    assert '(encoder: 3 heads x 64 dims over 17 tokens; decoder: 4 heads x 32 dims' in lines[6]


def test_adamw_mode_prints_foreach_and_fused():
    lines = lines_of(run_tool(DEMO, '--adamw', '--iters', '1', '--rounds', '1'))
    assert 'M parameters of configs/mae_vit-t_demo.py' in lines[0]
    steps = {line.split()[0]: line.split()[1:] for line in lines[1:3]}
    assert set(steps) == {'foreach', 'fused'}
    assert all(float(ms) > 0 and unit == 'ms/step' for ms, unit in steps.values())
    assert lines[3].startswith('fused / foreach: ')


def test_profile_mode_prints_an_operator_table():
    lines = lines_of(run_tool(DEMO, '--profile', '--batch-size', '2', '--iters', '1', '--top', '5'))
    assert 'batch 2, fp32' in lines[0] and '1 steps' in lines[0]
    table = '\n'.join(lines[1:])
    assert 'Self CPU %' in table and '# of Calls' in table and 'aten::' in table
    assert 'Self CPU time total' in table


def test_decode_mode_prints_files_against_shards(demo_root, tmp_path):
    lines = lines_of(
        run_tool(
            DEMO,
            '--decode',
            str(tmp_path),
            '--rounds',
            '1',
            '--imagenet',
            '4',
            '--src',
            os.path.join(demo_root, 'train'),
        )
    )
    assert '1 thread' in lines[0] and 'MAELoadRandomResizedCrop(size 64' in lines[0]
    assert 'files img/s' in lines[1] and 'shards img/s' in lines[1]
    rows = [line for line in lines[2:] if line.strip()]
    assert len(rows) == 4
    for row, (name, n, stage) in zip(
        rows,
        [
            ('demo photographs', 20, 'decode'),
            ('demo photographs', 20, 'load+crop'),
            ('ImageNet-size JPEGs', 4, 'decode'),
            ('ImageNet-size JPEGs', 4, 'load+crop'),
        ],
        strict=True,
    ):
        assert row.startswith(name) and row.split()[-4] == stage
        assert int(row[len(name) :].split()[0]) == n and row.endswith('x')
    assert os.path.isdir(tmp_path / 'imagenet_sized') and os.path.isdir(tmp_path / 'shards_train')


def test_modes_are_mutually_exclusive_and_one_core_modes_refuse_threads():
    out = run_tool(DEMO, '--adamw', '--attention')
    assert out.returncode == 2 and 'not allowed with' in out.stderr
    out = run_tool(DEMO, '--decode', '/nonexistent', '--threads', '2')
    assert out.returncode == 2 and 'one CPU core' in out.stderr
    out = run_tool('--help')
    assert out.returncode == 0
    assert out.stdout.startswith('usage: benchmark.py') and 'Speed and memory' in out.stdout
    for mode in ('--runners', '--data', '--adamw', '--attention', '--profile', '--decode'):
        assert mode in out.stdout
