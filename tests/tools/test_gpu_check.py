"""tools/gpu_check.py's CPU-side logic: arguments, the plan, the CUDA-absent exit, the time box,
the result file and the steps' environment (its report: tests/benchmarks/test_gpu_report.py)."""

import json
import os
import sys
import time

import pytest
import torch

from tools import gpu_check
from tools.gpu_check import Step

# real outputs of tools/benchmark.py and pytest (tests/benchmarks/test_gpu_report.py says whose)
OUTPUTS = os.path.join(gpu_check.ROOT, 'tests', 'benchmarks', 'outputs')


def output(name: str) -> str:
    with open(os.path.join(OUTPUTS, name), encoding='utf-8') as f:
        return f.read()


def test_arguments_and_the_plan_within_the_issues_eight_minutes():
    args = gpu_check.parse_args([])
    assert (args.out, args.skip_tests, args.skip_bench, args.timeout_scale) == (None, 0, 0, 1.0)
    assert sum(gpu_check.BOXES.values()) <= 8 * 60
    steps = gpu_check.plan(args, cuda=True, record='r.jsonl')
    assert [s.name for s in steps] == ['tests', 'peers', 'data']
    tests, peers, data = steps
    assert tests.argv[1:6] == ['-m', 'pytest', '-m', 'gpu', 'tests/gpu']
    assert (
        tests.env['MAE_GPU_CHECK_RECORD'] == 'r.jsonl' and 'MAE_GPU_CHECK_DEVICE' not in tests.env
    )
    assert peers.argv[1:4] == ['tools/benchmark.py', 'configs/mae_vit-b_800e.py', '--amp']
    assert peers.argv[peers.argv.index('--batch-size') + 1] == '256'
    assert peers.argv[peers.argv.index('--peers') + 1 :] == ['plugin', 'lightly', 'hf']
    assert '--data' in data.argv and 'configs/mae_vit-b_800e.py' in data.argv
    scaled = gpu_check.plan(gpu_check.parse_args(['--timeout-scale', '2']), True, 'r')
    assert [s.timeout_s for s in scaled] == [2 * gpu_check.BOXES[s.name] for s in scaled]
    dry = gpu_check.plan(gpu_check.parse_args(['--allow-cpu']), cuda=False, record='r')
    assert (
        dry[0].env['MAE_GPU_CHECK_DEVICE'] == 'cpu' and 'configs/mae_vit-t_demo.py' in dry[1].argv
    )
    assert [s.name for s in gpu_check.plan(gpu_check.parse_args(['--skip-tests']), 1, 'r')] == [
        'peers',
        'data',
    ]
    assert gpu_check.plan(gpu_check.parse_args(['--skip-tests', '--skip-bench']), 1, 'r') == []
    with pytest.raises(SystemExit):
        gpu_check.parse_args(['--timeout-scale', '0'])


@pytest.mark.skipif(torch.cuda.is_available(), reason='this machine has CUDA')
def test_without_cuda_it_says_so_and_exits_2(tmp_path, capsys):
    out = tmp_path / 'result.json'
    assert gpu_check.main(['--out', str(out)]) == 2
    err = capsys.readouterr().err
    assert 'sees no CUDA device' in err and '--allow-cpu' in err
    assert not out.exists()


def test_a_step_past_its_box_is_killed_with_its_children_and_recorded(tmp_path):
    pid_file = tmp_path / 'child.pid'
    code = (
        'import subprocess, sys, time\n'
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f'open({str(pid_file)!r}, "w").write(str(child.pid))\n'
        "print('started', flush=True)\n"
        'time.sleep(60)\n'
    )
    began = time.monotonic()
    result = gpu_check.run_step(Step('slow', [sys.executable, '-c', code], 2.0), echo=False)
    assert time.monotonic() - began < 20
    assert (result.status, result.returncode, result.ok) == ('timed out', None, False)
    assert 'started' in result.output
    child = int(pid_file.read_text())
    for _ in range(50):  # the grandchild went with its process group
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f'process {child} outlived the time box')
    failed = gpu_check.run_step(Step('bad', [sys.executable, '-c', 'exit(3)'], 30), echo=False)
    assert (failed.status, failed.returncode) == ('failed', 3)


def test_main_writes_one_result_file_and_fails_on_a_failed_test(tmp_path, monkeypatch, capsys):
    """Canned steps through main (the env probe is real): a failing test run, the peers' real
    output, a data step past its box; the file holds them all, the exit code is 1."""
    py, pytest_out = sys.executable, output('pytest_gpu.txt')
    steps = [
        # a long log between pytest's progress lines and its summary: all parsed, not its tail
        Step(
            'tests',
            [py, '-c', f'print({pytest_out!r}.replace("====", "log\\n" * 5000, 1)); exit(1)'],
            30,
        ),
        Step('peers', [py, '-c', f'print({output("benchmark_peers.txt")!r})'], 30),
        Step('data', [py, '-c', 'import time; time.sleep(30)'], 1.0),
    ]
    monkeypatch.setattr(gpu_check, 'plan', lambda args, cuda, record: steps)
    out = tmp_path / 'gpu' / 'result.json'
    assert gpu_check.main(['--allow-cpu', '--out', str(out)]) == 1
    result = json.loads(out.read_text())
    assert [result['steps'][k]['status'] for k in ('env', 'tests', 'peers', 'data')] == [
        'ok',
        'failed',
        'ok',
        'timed out',
    ]
    assert result['steps']['tests']['counts'] == dict(PASSED=1, FAILED=1, SKIPPED=1, ERROR=1)
    assert len(result['steps']['tests']['output']) == gpu_check.OUTPUT_KEPT
    assert result['steps']['peers']['rows']['lightly']['img_per_s'] == 1.47
    assert result['env']['torch'] == torch.__version__
    assert result['markdown'] in capsys.readouterr().out
    assert sorted(os.listdir(out.parent)) == ['result.json']  # written atomically, no leftovers
    steps[:] = [Step('tests', [py, '-c', 'print("no tests ran")'], 30)]
    assert gpu_check.main(['--allow-cpu', '--out', str(out)]) == 1  # nothing passed: a failure


def test_steps_find_the_checkout_first_and_keep_the_carried_packages(monkeypatch):
    """A lent GPU machine runs the checkout uninstalled, with carried wheels on PYTHONPATH: the
    benchmark steps (tools importing mae_plugin) need the checkout there too."""
    monkeypatch.setenv('PYTHONPATH', '/tmp/site')
    step = Step(name='peers', argv=[sys.executable, '-c', 'pass'], timeout_s=5)
    paths = gpu_check.step_env(step)['PYTHONPATH'].split(os.pathsep)
    assert paths == [gpu_check.ROOT, '/tmp/site']
