"""tools/gpu_check.py's CPU-side logic: arguments, the plan, the CUDA-absent exit, the time box,
the parsers on real output of tools/benchmark.py and pytest, the bf16-peak arithmetic, the result
file and the summary."""

import json
import os
import sys
import time

import pytest
import torch

from tools import gpu_check
from tools.gpu_check import Step

# tools/benchmark.py configs/mae_vit-t_demo.py --batch-size 2 --iters 1 --warmup 0 --rounds 1
#   --peers plugin lightly hf --amp, on this CPU, 2026-12-07 (its output as printed)
PEERS_OUT = """\
device cpu (Intel(R) Xeon(R) Processor), 2 threads, batch 2, bf16 autocast, denormals flushed; \
measured torch.bfloat16 matmul peak 364.5 GFLOP/s
  round 1 plugin: 1.83 img/s (fastest step 1.83)
  round 1 lightly: 1.47 img/s (fastest step 1.47)
  round 1 hf: 0.66 img/s (fastest step 0.66)
peer            img/s   ratio  GFLOP/img   GFLOP/s  of peak  peak MiB  params M
plugin           1.83   1.00x        0.5       0.8       0%       109      3.17
lightly          1.47   1.25x        0.5       0.7       0%       127      3.17
hf               0.66   2.79x        0.5       0.3       0%       184      3.17
img/s: best of the rounds; ratio = plugin img/s / peer img/s (above 1: plugin faster); peak \
MiB: above the imports (CPU: resident set; GPU: max allocated)
"""
# tools/benchmark.py configs/mae_vit-b_800e.py --data --rounds 1, same machine and day
DATA_OUT = """\
device cpu (Intel(R) Xeon(R) Processor), 1 thread; 256 JPEGs 500x375-800x600 q90, 1 process
  round 1 img/s: configured 160, official 82, PIL full 249, PIL draft 1/2 431, PIL draft 1/4 \
490, torchvision decode_jpeg 368
pipeline / decoder (per core)       img/s  vs official
configured                            160        1.95x
official                               82        1.00x
PIL full                              249        3.04x
PIL draft 1/2                         431        5.26x
PIL draft 1/4                         490        5.99x
torchvision decode_jpeg               368        4.50x
configured = configs/mae_vit-b_800e.py train pipeline (uint8, normalised later on the device)
"""
# pytest -m gpu tests/gpu -v -rA: a pass, a failure, a skip, an error at teardown
PYTEST_OUT = """\
tests/gpu/test_amp_step.py::test_amp_step_gives_the_fp32_cpu_loss_and_gradients[float16] PASSED [ 25%]
tests/gpu/test_amp_step.py::test_amp_step_gives_the_fp32_cpu_loss_and_gradients[bfloat16] FAILED [ 50%]
tests/gpu/test_compile.py::test_inductor_step_matches_eager SKIPPED (needs CUDA (make gpu-check on a GPU machine)) [ 75%]
tests/gpu/test_fsdp2.py::test_fsdp2_one_gpu_process_trains_the_demo_and_converts_to_timm PASSED [100%]
tests/gpu/test_fsdp2.py::test_fsdp2_one_gpu_process_trains_the_demo_and_converts_to_timm ERROR [100%]
=========================== short test summary info ============================
FAILED tests/gpu/test_amp_step.py::test_amp_step_gives_the_fp32_cpu_loss_and_gradients[bfloat16] - AssertionError: ['gradients: relative L2 error 0.3 > 0.1']
============= 1 failed, 1 passed, 1 skipped, 1 error in 95.20s (0:01:35) ==============
"""  # noqa: E501
AMP = 'tests/gpu/test_amp_step.py::test_amp_step_gives_the_fp32_cpu_loss_and_gradients'
FSDP = 'tests/gpu/test_fsdp2.py::test_fsdp2_one_gpu_process_trains_the_demo_and_converts_to_timm'
H100 = dict(device='NVIDIA H100 80GB HBM3', torch='2.11.0+cu130', cuda='13.0', cpus=16)


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


def test_parsers_read_the_tools_real_output():
    peers = gpu_check.parse_peers(PEERS_OUT)
    assert peers['device'] == 'Intel(R) Xeon(R) Processor'
    assert peers['measured_peak_gflop_s'] == 364.5
    assert list(peers['rows']) == ['plugin', 'lightly', 'hf']
    assert peers['rows']['plugin'] == dict(
        img_per_s=1.83, gflop_per_img=0.5, peak_mib=109.0, of_measured_peak=0.0, params_m=3.17
    )
    assert peers['rows']['hf']['peak_mib'] == 184.0
    cut = gpu_check.parse_peers(PEERS_OUT.split('peer ')[0])  # killed before its table
    assert {k: v['img_per_s'] for k, v in cut['rows'].items()} == dict(
        plugin=1.83, lightly=1.47, hf=0.66
    )
    rates = gpu_check.parse_data(DATA_OUT)
    assert rates == {
        'configured': 160.0,
        'official': 82.0,
        'PIL full': 249.0,
        'PIL draft 1/2': 431.0,
        'PIL draft 1/4': 490.0,
        'torchvision decode_jpeg': 368.0,
    }
    assert gpu_check.parse_data(DATA_OUT.split('pipeline /')[0]) == {}
    tests = gpu_check.parse_pytest(PYTEST_OUT)
    assert tests['counts'] == dict(PASSED=1, FAILED=1, SKIPPED=1, ERROR=1)
    assert tests['failed'] == sorted([f'{AMP}[bfloat16]', FSDP])
    assert tests['closing'].startswith('1 failed, 1 passed, 1 skipped, 1 error in 95.20s')
    assert gpu_check.parse_pytest(PYTEST_OUT.split('====')[0])['counts']['PASSED'] == 1
    env = gpu_check.parse_env('noise\nGPU_CHECK_ENV {"torch": "2.11", "cuda_available": true}\n')
    assert env == {'torch': '2.11', 'cuda_available': True}


def test_the_bf16_peak_by_device_name_and_the_share_of_it():
    assert gpu_check.bf16_peak_tflops('NVIDIA H100 80GB HBM3') == 989.0  # SXM
    assert gpu_check.bf16_peak_tflops('NVIDIA H100 PCIe') == 756.0
    assert gpu_check.bf16_peak_tflops('NVIDIA H200') == 989.0
    for unknown in ('NVIDIA H100 NVL', 'Tesla T4', None):
        assert gpu_check.bf16_peak_tflops(unknown) is None
    # 5,000 ViT-B images of 58.5 GFLOP a second: 292.5 TFLOP/s, 29.6% of the H100's 989
    assert gpu_check.peak_share(5000, 989.0) == pytest.approx(0.29575, abs=1e-5)
    assert gpu_check.peak_share(5000, None) is None


def canned_results() -> dict:
    peers = dict(status='ok', seconds=80.0, argv=['python', 'tools/benchmark.py', 'X', '--amp'])
    peers['rows'] = {'plugin': dict(img_per_s=4300.0, gflop_per_img=58.5, peak_mib=40960.0)}
    records = [{'test': FSDP, 'device': 'cuda', 'losses': [1.79, 1.75, 1.72], 'cosine': 0.99996}]
    tests = dict(status='failed', seconds=100.0, records=records)
    tests.update(gpu_check.parse_pytest(PYTEST_OUT))
    data = dict(status='timed out', seconds=45.0, rates={'configured': 300.0})
    return dict(env=dict(status='ok', seconds=3.0), tests=tests, peers=peers, data=data)


def test_the_markdown_block_and_the_one_screen_summary():
    block = gpu_check.markdown(H100, canned_results(), '2026-12-07')
    assert block.startswith('## GPU: NVIDIA H100 80GB HBM3, ViT-B/16 bf16, batch 256 — 2026-12-07')
    # the docs' snippet rule: a command that needs a GPU says so on its block's first line
    assert '```bash\n# needs: a GPU\npython tools/benchmark.py X --amp\n```' in block
    assert '| plugin | 4,300 | 25% | - | 58.5 | 40.0 |' in block  # 4300 x 58.5 / 989e3
    assert 'plugin >= 5,000 img/s: 4,300, not met' in block
    assert 'Step status: timed out.' in block and '| configured | 300 |' in block
    assert '1 passed, 2 failed, 1 skipped' in block and '| `test_fsdp2_one' in block
    assert (
        '| `test_fsdp2_one_gpu_process_trains_the_demo_and_converts_to_timm` | losses 1.79 '
        '-> 1.72, cosine 0.999960 |' in block
    )
    unknown = gpu_check.markdown(dict(H100, device='Tesla T4'), canned_results(), 'd')
    assert "unknown for 'Tesla T4'" in unknown and '| plugin | 4,300 | - |' in unknown
    screen = gpu_check.summary(H100, canned_results(), '/out/r.json').splitlines()
    assert len(screen) <= 24
    assert screen[0] == 'gpu-check on NVIDIA H100 80GB HBM3 (torch 2.11.0+cu130, CUDA 13.0)'
    assert any(s.split()[:2] == ['tests', 'failed'] for s in screen)
    assert f'      FAILED {AMP}[bfloat16]' in screen
    assert any('plugin 4,300 img/s (25% of peak)' in s for s in screen)
    assert any(s.split()[:3] == ['data', 'timed', 'out'] for s in screen)
    assert screen[-1] == 'result: /out/r.json'


def test_main_writes_one_result_file_and_fails_on_a_failed_test(tmp_path, monkeypatch, capsys):
    """Canned steps through main (the env probe is real): a failing test run, the peers' real
    output, a data step past its box; the file holds them all, the exit code is 1."""
    py = sys.executable
    steps = [
        # a long log between pytest's progress lines and its summary: all parsed, not its tail
        Step(
            'tests',
            [py, '-c', f'print({PYTEST_OUT!r}.replace("====", "log\\n" * 5000, 1)); exit(1)'],
            30,
        ),
        Step('peers', [py, '-c', f'print({PEERS_OUT!r})'], 30),
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
