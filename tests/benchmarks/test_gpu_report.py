"""benchmarks/gpu_report.py: the parsers on real output of tools/benchmark.py and pytest, the
bf16-peak arithmetic, the markdown block for docs/benchmarks.md and the one-screen summary."""

import os

import pytest

from benchmarks import gpu_report

OUTPUTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'outputs')


def output(name: str) -> str:
    """A tool's output as printed, kept under tests/benchmarks/outputs/:

    - benchmark_peers.txt: ``tools/benchmark.py configs/mae_vit-t_demo.py --batch-size 2 --iters 1
      --warmup 0 --rounds 1 --peers plugin lightly hf --amp``, this CPU, 2026-12-07;
    - benchmark_data.txt: ``tools/benchmark.py configs/mae_vit-b_800e.py --data --rounds 1``,
      same machine and day;
    - pytest_gpu.txt: ``pytest -m gpu tests/gpu -v -rA``: a pass, a failure, a skip, an error at
      teardown.
    """
    with open(os.path.join(OUTPUTS, name), encoding='utf-8') as f:
        return f.read()


AMP = 'tests/gpu/test_amp_step.py::test_amp_step_gives_the_fp32_cpu_loss_and_gradients'
FSDP = 'tests/gpu/test_fsdp2.py::test_fsdp2_one_gpu_process_trains_the_demo_and_converts_to_timm'
H100 = dict(device='NVIDIA H100 80GB HBM3', torch='2.11.0+cu130', cuda='13.0', cpus=16)


def test_parsers_read_the_tools_real_output():
    peers = gpu_report.parse_peers(output('benchmark_peers.txt'))
    assert peers['device'] == 'Intel(R) Xeon(R) Processor'
    assert peers['measured_peak_gflop_s'] == 364.5
    assert list(peers['rows']) == ['plugin', 'lightly', 'hf']
    assert peers['rows']['plugin'] == dict(
        img_per_s=1.83, gflop_per_img=0.5, peak_mib=109.0, of_measured_peak=0.0, params_m=3.17
    )
    assert peers['rows']['hf']['peak_mib'] == 184.0
    cut = gpu_report.parse_peers(output('benchmark_peers.txt').split('peer ')[0])  # no table
    assert {k: v['img_per_s'] for k, v in cut['rows'].items()} == dict(
        plugin=1.83, lightly=1.47, hf=0.66
    )
    data = output('benchmark_data.txt')
    assert gpu_report.parse_data(data) == {
        'configured': 160.0,
        'official': 82.0,
        'PIL full': 249.0,
        'PIL draft 1/2': 431.0,
        'PIL draft 1/4': 490.0,
        'torchvision decode_jpeg': 368.0,
    }
    assert gpu_report.parse_data(data.split('pipeline /')[0]) == {}
    pytest_out = output('pytest_gpu.txt')
    tests = gpu_report.parse_pytest(pytest_out)
    assert tests['counts'] == dict(PASSED=1, FAILED=1, SKIPPED=1, ERROR=1)
    assert tests['failed'] == sorted([f'{AMP}[bfloat16]', FSDP])
    assert tests['closing'].startswith('1 failed, 1 passed, 1 skipped, 1 error in 95.20s')
    assert gpu_report.parse_pytest(pytest_out.split('====')[0])['counts']['PASSED'] == 1
    env = gpu_report.parse_env('noise\nGPU_CHECK_ENV {"torch": "2.11", "cuda_available": true}\n')
    assert env == {'torch': '2.11', 'cuda_available': True}
    assert gpu_report.parse_env('the probe died\n') is None


def test_the_bf16_peak_by_device_name_and_the_share_of_it():
    assert gpu_report.bf16_peak_tflops('NVIDIA H100 80GB HBM3') == 989.0  # SXM
    assert gpu_report.bf16_peak_tflops('NVIDIA H100 PCIe') == 756.0
    assert gpu_report.bf16_peak_tflops('NVIDIA H200') == 989.0
    for unknown in ('NVIDIA H100 NVL', 'Tesla T4', None):
        assert gpu_report.bf16_peak_tflops(unknown) is None
    # 5,000 ViT-B images of 58.5 GFLOP a second: 292.5 TFLOP/s, 29.6% of the H100's 989
    assert gpu_report.peak_share(5000, 989.0) == pytest.approx(0.29575, abs=1e-5)
    assert gpu_report.peak_share(5000, None) is None


def canned_results() -> dict:
    peers = dict(status='ok', seconds=80.0, argv=['python', 'tools/benchmark.py', 'X', '--amp'])
    peers['rows'] = {'plugin': dict(img_per_s=4300.0, gflop_per_img=58.5, peak_mib=40960.0)}
    records = [{'test': FSDP, 'device': 'cuda', 'losses': [1.79, 1.75, 1.72], 'cosine': 0.99996}]
    tests = dict(status='failed', seconds=100.0, records=records)
    tests.update(gpu_report.parse_pytest(output('pytest_gpu.txt')))
    data = dict(status='timed out', seconds=45.0, rates={'configured': 300.0})
    return dict(env=dict(status='ok', seconds=3.0), tests=tests, peers=peers, data=data)


def test_the_markdown_block_and_the_one_screen_summary():
    block = gpu_report.markdown(H100, canned_results(), '2026-12-07')
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
    unknown = gpu_report.markdown(dict(H100, device='Tesla T4'), canned_results(), 'd')
    assert "unknown for 'Tesla T4'" in unknown and '| plugin | 4,300 | - |' in unknown
    screen = gpu_report.summary(H100, canned_results(), '/out/r.json').splitlines()
    assert len(screen) <= 24
    assert screen[0] == 'gpu-check on NVIDIA H100 80GB HBM3 (torch 2.11.0+cu130, CUDA 13.0)'
    assert any(s.split()[:2] == ['tests', 'failed'] for s in screen)
    assert f'      FAILED {AMP}[bfloat16]' in screen
    assert any('plugin 4,300 img/s (25% of peak)' in s for s in screen)
    assert any(s.split()[:3] == ['data', 'timed', 'out'] for s in screen)
    assert screen[-1] == 'result: /out/r.json'
