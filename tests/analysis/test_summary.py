"""What a finished demo run left behind (``analysis/summary.py``): the checkpoint
``last_checkpoint`` names, the reconstruction pictures of every run in step order (a later run's
winning), first and last logged numbers, curves drawn into the work dir, paths shown relative to
the current folder; the next commands are Makefile targets and files that exist, less the one
that wrote this work dir; whatever is missing is an error naming it."""

import json
import os
import re
import shutil

import pytest
from PIL import Image

from mae_plugin.analysis.summary import (
    RunSummary,
    format_summary,
    newest_checkpoint,
    reconstruction_pictures,
    summarize,
)
from tests.helpers.demo_runs import copy_demo_run
from tests.helpers.paths import ROOT

# two runs of one work dir: the second resumed at step 6 and logged it again
RUNS = {
    '20260101_000000': {
        'pictures': (3, 6),
        'rows': [{'knn_top1': 10.0, 'step': 0}]
        + [{'loss': 2.0 - 0.1 * s, 'step': s} for s in range(1, 7)]
        + [{'knn_top1': 11.0, 'step': 3}, {'knn_top1': 12.0, 'step': 6}],
    },
    '20260102_000000': {
        'pictures': (6, 10),
        'rows': [{'loss': 1.0 - 0.01 * s, 'step': s} for s in range(6, 11)]
        + [{'knn_top1': 20.0, 'step': 10}],
    },
}


def synthetic_run(root, name='mae_vit-t_demo'):
    """A work dir as MMEngine leaves it after RUNS (empty files for the checkpoints)."""
    work = root / name
    for stamp, run in RUNS.items():
        vis = work / stamp / 'vis_data'
        (vis / 'vis_image').mkdir(parents=True)
        for step in run['pictures']:
            Image.new('RGB', (4, 4)).save(vis / 'vis_image' / f'reconstruction_{step}.png')
        (vis / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in run['rows']))
    (work / 'iter_10.pth').write_bytes(b'')
    (work / 'last_checkpoint').write_text(f'{work / "iter_10.pth"}\n')
    return work


def test_the_summary_of_two_runs_of_a_work_dir(tmp_path, monkeypatch):
    work = synthetic_run(tmp_path)
    monkeypatch.chdir(tmp_path)
    summary = summarize(str(work))
    assert summary.work_dir == 'mae_vit-t_demo'
    assert summary.checkpoint == os.path.join('mae_vit-t_demo', 'iter_10.pth')
    picture = os.path.join('mae_vit-t_demo', '{}', 'vis_data', 'vis_image', 'reconstruction_{}.png')
    assert summary.pictures == [
        picture.format('20260101_000000', 3),
        picture.format('20260102_000000', 6),  # the resumed run's picture of step 6
        picture.format('20260102_000000', 10),  # after step 6, not between 3 and 6 as text
    ]
    assert summary.curves == os.path.join('mae_vit-t_demo', 'curves.png')
    assert Image.open(work / 'curves.png').size == (800, 600)
    assert summary.first_last == {
        'loss': ((1, pytest.approx(1.9)), (10, pytest.approx(0.9))),
        'knn_top1': ((0, 10.0), (10, 20.0)),
    }
    monkeypatch.chdir(work / '20260101_000000')  # the work dir is not below: paths as given
    assert summarize(str(work)).checkpoint == str(work / 'iter_10.pth')


def test_the_text_names_the_outputs_and_the_numbers():
    summary = RunSummary(
        'w/mae_vit-t_demo',
        'w/mae_vit-t_demo/iter_6.pth',
        ['a/reconstruction_3.png', 'b/reconstruction_6.png'],
        'w/mae_vit-t_demo/curves.png',
        {'loss': ((1, 1.234567), (6, 0.5)), 'knn_top1': ((0, 10.0), (6, 12.345678))},
    )
    lines = format_summary(summary, 'configs/mae_vit-t_demo.py').splitlines()
    assert lines[: lines.index('Next:')] == [
        'Done. Outputs in w/mae_vit-t_demo/:',
        '  checkpoint  w/mae_vit-t_demo/iter_6.pth',
        '  pictures    b/reconstruction_6.png (and 1 earlier)',
        '  curves      w/mae_vit-t_demo/curves.png',
        '  loss        1.235 at step 1 -> 0.5 at step 6',
        '  knn_top1    10 at step 0 -> 12.35 at step 6',
        '',
    ]
    assert lines[lines.index('Next:') + 2] == (
        'python tools/visualize_reconstruction.py configs/mae_vit-t_demo.py '
        'w/mae_vit-t_demo/iter_6.pth IMAGE [IMAGE ...] --out recon.png'
    )
    one = RunSummary('w', 'w/c.pth', ['a/reconstruction_3.png'], 'w/curves.png', {})
    assert '  pictures    a/reconstruction_3.png\n' in format_summary(one)
    assert 'visualize_reconstruction.py CONFIG w/c.pth' in format_summary(one)


def make_targets():
    """Makefile target -> the work dirs its ``tools/train.py`` lines write."""
    targets, current = {}, None
    for line in open(os.path.join(ROOT, 'Makefile')):
        if match := re.match(r'^([\w-]+):', line):
            current = targets.setdefault(match.group(1), [])
        elif current is not None and 'tools/train.py' in line:
            config = re.search(r'tools/train\.py (\S+)', line).group(1)
            given = re.search(r'--work-dir (\S+)', line)
            stem = os.path.splitext(os.path.basename(config))[0]
            current.append(os.path.basename(given.group(1)) if given else stem)
    return targets


@pytest.mark.parametrize('name', ['mae_vit-t_demo', 'mae_vit-t_digits', 'vit-t-mae_finetune_demo'])
def test_the_next_commands_exist_and_leave_out_the_one_that_wrote_the_work_dir(name):
    summary = RunSummary(f'work_dirs/{name}', 'c.pth', ['p.png'], 'curves.png', {})
    lines = format_summary(summary).splitlines()
    nexts = lines[lines.index('Next:') + 1 :]
    comments, commands = nexts[0::2], nexts[1::2]
    assert all(c.startswith('# ') for c in comments) and len(comments) == len(commands)
    targets = make_targets()
    make = [c.removeprefix('make ') for c in commands if c.startswith('make ')]
    assert all(target in targets for target in make)
    expected = {
        t for t in ('demo-cls', 'demo-det', 'demo-seg', 'demo-digits') if name not in targets[t]
    }
    assert set(make) == expected
    for command in commands:
        if command.startswith('python '):
            files = [w for w in command.split()[1:] if w.endswith(('.py', '.yaml'))]
            assert all(os.path.isfile(os.path.join(ROOT, f)) for f in files if f != 'CONFIG')


def test_a_pointer_to_a_missing_checkpoint_and_no_picture_are_errors_naming_them(tmp_path):
    work = synthetic_run(tmp_path)
    assert newest_checkpoint(str(work)) == str(work / 'iter_10.pth')  # the newline stripped
    os.remove(work / 'iter_10.pth')
    with pytest.raises(FileNotFoundError, match=r"last_checkpoint' names '.*iter_10.pth', which"):
        newest_checkpoint(str(work))
    for stamp in RUNS:
        shutil.rmtree(work / stamp / 'vis_data' / 'vis_image')
    with pytest.raises(FileNotFoundError, match=r'no reconstruction picture in .*vis_image'):
        reconstruction_pictures(str(work))


@pytest.fixture(scope='module')
def run(tmp_path_factory, tiny_demo_run):
    """A copy of the shared 6-iteration tiny demo run (tests/conftest.py), in a folder of the
    demo's name: checkpoints, pictures and kNN at steps 3 and 6 (the summary writes into it)."""
    return copy_demo_run(tmp_path_factory, tiny_demo_run)


@pytest.mark.slow
def test_what_is_missing_is_named(run, tmp_path):
    broken = str(tmp_path / 'mae_vit-t_digits')
    shutil.copytree(run, broken)
    with open(os.path.join(broken, 'last_checkpoint'), 'w') as f:
        f.write(os.path.join(broken, 'iter_6.pth'))  # the copy's own, not the run's
    assert 'make demo-digits' not in summarize_text(broken)  # the run just done is not next
    os.remove(newest_checkpoint(broken))
    with pytest.raises(FileNotFoundError, match='iter_6.pth'):
        summarize(broken)
    os.remove(os.path.join(broken, 'last_checkpoint'))
    with pytest.raises(FileNotFoundError, match='saved no checkpoint'):
        summarize(broken)
    for picture in reconstruction_pictures(broken):
        os.remove(picture)
    with pytest.raises(FileNotFoundError, match='no reconstruction picture'):
        reconstruction_pictures(broken)
    with pytest.raises(ValueError, match=r"\['top5'\] not in the log"):
        summarize(run, keys=['loss', 'top5'])


def summarize_text(work_dir: str) -> str:
    return format_summary(summarize(work_dir))
