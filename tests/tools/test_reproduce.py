"""tools/reproduce.py: the rows it runs, its resumability, the page blocks it rewrites, and the
whole set at a tiny size through the same tools (``--tiny``: 2 iterations, one seed, the
baseline and the scratch rows) so that the commands of docs/reproduction.md cannot rot."""

import json
import os
import subprocess
import sys

import pytest

from reproduction import execute, plan, report

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_every_row_changes_one_thing_and_masks_at_the_ratio_it_encodes():
    runs = [run for chain in plan.chains([0, 1]) for run in chain]
    pretrain = [run for run in runs if run.kind == 'pretrain']
    assert sorted({run.variant for run in pretrain}) == sorted(plan.VARIANTS)
    assert len(pretrain) == 2 * len(plan.VARIANTS)
    for run in pretrain:
        plan.check_mask_ratio(run)
    for run in runs:
        if run.kind != 'pretrain' and run.variant != plan.SCRATCH:
            # each evaluation starts from the pretraining of its own row and seed
            assert (run.init_from.variant, run.init_from.seed) == (run.variant, run.seed)
    scratch = [run for run in runs if run.variant == plan.SCRATCH]
    assert sorted(run.kind for run in scratch) == ['finetune'] * 2 + ['linprobe'] * 2
    assert all(run.init_from is None for run in scratch)


def test_a_mask_ratio_set_on_the_wrong_pipeline_step_is_an_error(monkeypatch):
    monkeypatch.setattr(plan, 'MASK_STEP', 1)  # the flip, not the mask generator
    run = plan.Run('pretrain', 'mask0.25', 0, plan.PRETRAIN, plan._mask(0.25))
    with pytest.raises(ValueError, match='not an MAEMaskGenerator'):
        plan.check_mask_ratio(run)


def test_a_done_run_is_skipped_and_an_interrupted_one_starts_over(tmp_path, monkeypatch):
    done = plan.Run('linprobe', plan.SCRATCH, 0, plan.LINPROBE_SCRATCH)
    cut = plan.Run('finetune', plan.SCRATCH, 0, plan.FINETUNE_SCRATCH)
    root = str(tmp_path)
    execute.write_json(dict(top1=42.0), os.path.join(done.work_dir(root), execute.RESULT))
    os.makedirs(cut.work_dir(root))
    stale = os.path.join(cut.work_dir(root), 'iter_1.pth')
    open(stale, 'w').close()
    calls = []

    def fake_call(argv, **kwargs):  # the tool "runs": leaves a scalars.json with a top-1
        calls.append(argv)
        assert not os.path.exists(stale), 'the interrupted run was not cleared first'
        log = os.path.join(cut.work_dir(root), '20260101_000000', 'vis_data', 'scalars.json')
        os.makedirs(os.path.dirname(log))
        with open(log, 'w') as f:
            f.write(json.dumps({'accuracy/top1': 55.0, 'step': 2}) + '\n')
        return 0

    monkeypatch.setattr(execute.subprocess, 'call', fake_call)
    runner = execute.Runner(root, jobs=1, total=2)
    runner.run_chain([done, cut])
    assert len(calls) == 1 and plan.FINETUNE_SCRATCH in ' '.join(calls[0])
    assert runner.results[done.key] == dict(top1=42.0)
    assert runner.results[cut.key]['top1'] == 55.0
    with open(os.path.join(cut.work_dir(root), execute.RESULT)) as f:
        assert json.load(f)['top1'] == 55.0


def test_the_page_keeps_its_prose_and_names_a_missing_block(tmp_path):
    page = str(tmp_path / 'page.md')
    blocks = {name: f'new {name}' for name in report.BLOCKS}
    report.write_page(page, blocks)  # no page yet: a skeleton with every block
    with open(page) as f:
        text = f.read()
    text = text.replace('# Reproduction', '# Reproduction\n\nProse written by hand.')
    with open(page, 'w') as f:
        f.write(text.replace('new speed', 'old speed'))
    report.write_page(page, blocks)
    with open(page) as f:
        text = f.read()
    assert 'Prose written by hand.' in text and 'new speed' in text and 'old speed' not in text
    with open(page, 'w') as f:
        f.write(text.replace('<!-- /reproduce:run -->', ''))
    with pytest.raises(ValueError, match='reproduce:run'):
        report.write_page(page, blocks)


def reproduce(cwd, *args):
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, 'tools', 'reproduce.py'), '--tiny', *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_the_tiny_set_runs_end_to_end_and_resumes(tmp_path):
    subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, 'tools', 'prepare_demo_data.py'),
            'data/demo',
            '--digits',
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    args = ('--work-dir', 'wd', '--page', 'page.md', '--images', 'img')
    first = reproduce(tmp_path, *args)
    assert first.returncode == 0, first.stdout + first.stderr
    with open(tmp_path / 'wd' / 'results.json') as f:
        results = json.load(f)
    assert sorted(results['runs']) == [
        'finetune/mask0.75_seed0',
        'finetune/scratch_seed0',
        'linprobe/mask0.75_seed0',
        'linprobe/scratch_seed0',
        'pretrain/mask0.75_seed0',
    ]
    pre = results['runs']['pretrain/mask0.75_seed0']
    assert 0 < pre['knn_top1'] <= 100 and 0 < pre['knn_top1_random'] <= 100
    for key in ('linprobe/mask0.75_seed0', 'finetune/scratch_seed0'):
        assert 0 <= results['runs'][key]['top1'] <= 100
    assert set(results['speed']['peers']) == {'plugin', 'mask_tokens'}
    assert results['speed']['speedup'] > 0
    page = (tmp_path / 'page.md').read_text()
    assert f'| 75% | {pre["knn_top1"]:.1f} |' in page  # the table, from results.json
    assert 'randomness.seed=0' in page
    for name in (*report.TABLES, 'speed', 'mask_ratio_loss'):
        with open(tmp_path / 'img' / f'{name}.png', 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n', name
    again = reproduce(tmp_path, *args)  # everything done: nothing runs again
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count('done before, skipped') == 5, again.stdout
