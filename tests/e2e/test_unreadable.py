"""Unreadable images in real runs: ``corrupt_images`` counts distinct files, not reads (a file met
again on a retry, the next epoch or another rank counts once, the count goes on after
``--resume``, the log names each file once), summed over the ranks of a 2-process (gloo) run;
evaluation never substitutes data (an unreadable validation or test image is an error naming
it, or with ``on_corrupt='skip'`` dropped from the accuracy and counted) through
``tools/train.py`` and ``tools/test.py`` on 1 and 2 processes; monitors never end a run (an
unreadable file among the reconstruction pictures' images and in both kNN splits is passed
over, said once in the log)."""

import glob
import os
import re
import shutil
import sys

import pytest
import torch

import mae_plugin  # noqa: F401
from mae_plugin.data import CorruptImageError
from tests.helpers import in_process, processes, scalars
from tests.helpers.data import with_unreadable_val
from tests.helpers.fsdp_runs import torchrun
from tests.helpers.mmengine_runs import TINY, cli, demo_options, run_cli, without_monitors
from tests.helpers.mmengine_runs import finetune_options as options
from tests.helpers.paths import DEMO, ROOT, TRAIN
from tests.helpers.ports import free_port
from tests.helpers.scalars import runs

LISTED = 'unreadable image file(s) skipped'


@pytest.mark.slow
def test_two_ranks_count_each_bad_file_once_across_epochs_retries_and_resume(tmp_path, demo_root):
    # 6 files, the last unreadable; 2 ranks x 2 images an iteration: every rank meets the bad
    # file every 3 iterations or so, and its redraws may land on it again (no pictures or kNN:
    # what they read is not this test's)
    train = tmp_path / 'data' / 'train'
    train.mkdir(parents=True)
    for name in sorted(os.listdir(os.path.join(demo_root, 'train')))[:5]:
        shutil.copy(os.path.join(demo_root, 'train', name), train / name)
    bad = str(train / 'zz_unreadable.jpg')
    open(bad, 'wb').write(b'not an image at all')
    work = str(tmp_path / 'ddp')
    extra = {
        **TINY,
        'train_dataloader.batch_size': 2,
        'train_dataloader.num_workers': 1,
    }

    def train(iters, *args):
        options = without_monitors(demo_options(str(tmp_path / 'data'), iters, 4, **extra))
        return torchrun(DEMO, work, options, extra=args)

    out = train(8)
    first = counts(work)
    assert max(first.values()) == 1 and first[8] == 1, first
    assert out.count(LISTED) == 1 and repr(bad) in out.split(LISTED, 1)[1].split('\n', 1)[0]
    saved = torch.load(os.path.join(work, 'iter_4.pth'), weights_only=True)
    assert saved['corrupt_images'] == [bad]
    # resumed from iteration 4: both ranks restart their loaders, and meet the file again
    os.remove(os.path.join(work, 'iter_8.pth'))
    with open(os.path.join(work, 'last_checkpoint'), 'w') as f:
        f.write(os.path.join(work, 'iter_4.pth'))
    out = train(8, '--resume')
    again = counts(work)
    assert set(again) == {5, 6, 7, 8} and set(again.values()) == {1}, again
    assert LISTED not in out  # known from the checkpoint: not listed again
    final = torch.load(os.path.join(work, 'iter_8.pth'), weights_only=True)
    assert final['corrupt_images'] == [bad]


def counts(work_dir):
    """{step: corrupt_images} of the latest run in ``work_dir``."""
    latest = runs(work_dir)[-1]
    return {row['step']: row['corrupt_images'] for row in latest if 'corrupt_images' in row}


def corrupt_counts(work_dir):
    return scalars.logged(work_dir, 'corrupt_images')


@pytest.mark.slow
def test_corrupt_images_are_summed_over_ranks(tmp_path, demo_root):
    # 100 good tiles and 3 corrupt files; unshuffled, with 2 images a rank and iteration, rank r
    # reads indices r, r + 2, ...: in the second iteration rank 0 meets 004.jpg, rank 1 005.jpg
    # and 007.jpg
    train = tmp_path / 'data' / 'train'
    train.mkdir(parents=True)
    tile_files = sorted(glob.glob(os.path.join(demo_root, 'knn', 'train', '*', '*.jpg')))
    for i in range(103):
        if i in (4, 5, 7):
            (train / f'{i:03d}.jpg').write_bytes(b'not an image at all')
        else:
            shutil.copy(tile_files[i % len(tile_files)], train / f'{i:03d}.jpg')
    work = str(tmp_path / 'ddp')
    options = demo_options(
        str(tmp_path / 'data'),
        3,
        3,
        **{
            **TINY,
            'train_dataloader.batch_size': 2,
            'train_dataloader.num_workers': 1,
            'train_dataloader.sampler.type': 'DefaultSampler',
            'train_dataloader.sampler.shuffle': False,
        },
    )
    options = without_monitors(options)  # no pictures or kNN: the training reads alone
    out = run_cli(
        [
            sys.executable,
            '-m',
            'torch.distributed.run',
            '--nproc_per_node=2',
            '--master_port',
            free_port(),
            TRAIN,
            DEMO,
            '--launcher',
            'pytorch',
            '--work-dir',
            work,
        ]
        + cli(options)
    )
    assert 'Distributed training: True' in out and 'Iter(train) [3/3]' in out
    # a redraw hitting a corrupt file again would add to the count; the seeds fix the draws
    assert corrupt_counts(work) == {1: 0, 2: 3, 3: 3}


TEST = os.path.join(ROOT, 'tools', 'test.py')


FINETUNE = os.path.join(ROOT, 'configs', 'cls', 'vit-t-mae_finetune_demo.py')


def run(args, torchrun=False):
    """(return code, output) of ``python [-m torch.distributed.run ...] ARGS``."""
    done = processes.run(
        [*(processes.torchrun(2) if torchrun else [sys.executable]), *args], check=False
    )
    return done.returncode, done.output


def eval_options(demo_root, checkpoint, root, **extra):
    opts = options(demo_root, checkpoint, iters=2)
    opts['val_dataloader.dataset.data_root'] = opts['test_dataloader.dataset.data_root'] = root
    opts.update(extra)
    return opts


def top1(out):
    return float(out.rsplit('accuracy/top1: ', 1)[1].split()[0])


@pytest.mark.slow
def test_an_unreadable_val_or_test_image_is_an_error_naming_it(tmp_path, demo_root, pretrained_64):
    root, bad = with_unreadable_val(tmp_path, demo_root)
    work = str(tmp_path / 'ft')
    opts = eval_options(demo_root, pretrained_64[0], root)
    with pytest.raises(CorruptImageError, match=re.escape(bad)):
        in_process.train(FINETUNE, work, opts)
    # the checkpoint of iteration 2 was written before the validation
    checkpoint = os.path.join(work, 'iter_2.pth')
    with pytest.raises(CorruptImageError, match=re.escape(bad)):
        in_process.evaluate(FINETUNE, checkpoint, str(tmp_path / 'test'), opts)


@pytest.mark.slow
def test_skip_drops_an_unreadable_image_from_the_accuracy_and_counts_it(
    tmp_path, demo_root, pretrained_64
):
    root, bad = with_unreadable_val(tmp_path, demo_root)
    work = str(tmp_path / 'ft')
    skip = {
        'val_dataloader.dataset.on_corrupt': 'skip',
        'test_dataloader.dataset.on_corrupt': 'skip',
    }
    said = re.escape(f'over 80 of 81 images, 1 unreadable: {bad!r}')
    opts = eval_options(demo_root, pretrained_64[0], root, **skip)
    _, log = in_process.train(FINETUNE, work, opts)
    assert re.search(said, log), log[-3000:]
    checkpoint = os.path.join(work, 'iter_2.pth')
    reference_opts = eval_options(demo_root, pretrained_64[0], os.path.join(demo_root, 'knn'))
    metrics, _ = in_process.evaluate(FINETUNE, checkpoint, str(tmp_path / 'ref'), reference_opts)
    reference = metrics['accuracy/top1']  # the 80 readable images alone
    metrics, log = in_process.evaluate(FINETUNE, checkpoint, str(tmp_path / 'skip'), opts)
    assert re.search(said, log), log[-3000:]
    assert metrics['accuracy/top1'] == reference and metrics['accuracy/unreadable'] == 1
    # 2 processes, through tools/test.py's command line: the sampler pads 81 to 82 (index 0
    # twice); the metric counts each file once
    args = [TEST, FINETUNE, checkpoint, '--work-dir', work, '--launcher', 'pytorch']
    code, out = run(args + cli(opts), torchrun=True)
    assert code == 0 and re.search(said, out), out[-3000:]
    assert top1(out) == round(reference, 2)


def demo_with_unreadable_files(tmp_path, demo_root):
    """A copy of the demo data with an unreadable file sorted first in train/ and one in a
    class folder of knn/train and of knn/val. Returns (data_root, {split: bad path})."""
    root = tmp_path / 'data'
    shutil.copytree(demo_root, root)
    bad = {'train': root / 'train' / '0000_unreadable.jpg'}
    for split in ('train', 'val'):
        first = sorted(os.listdir(root / 'knn' / split))[0]
        bad[f'knn/{split}'] = root / 'knn' / split / first / '0000_unreadable.jpg'
    for path in bad.values():
        path.write_bytes(b'not an image at all')
    return str(root), {k: str(v) for k, v in bad.items()}


@pytest.mark.slow
def test_unreadable_monitor_images_are_passed_over_and_said_once(tmp_path, demo_root):
    root, bad = demo_with_unreadable_files(tmp_path, demo_root)
    work = str(tmp_path / 'run')
    options = demo_options(root, 2, 2, **TINY)
    _, out = in_process.train(DEMO, work, options)  # tools/train.py's functions; out: its log
    assert 'Iter(train) [2/2]' in out
    pictures = glob.glob(os.path.join(work, '*', 'vis_data', 'vis_image', 'reconstruction_2.png'))
    assert pictures, out[-3000:]
    # before training, at iteration 2 and after training: measured, the splits read once
    assert out.count('kNN top-1') >= 2
    said = [line for line in out.splitlines() if 'unreadable image(s)' in line]
    assert len(said) == 3, said  # the pictures and each kNN split, once each
    assert sum(repr(bad['train']) in line for line in said) == 1
    for split in ('knn/train', 'knn/val'):  # once: in one line (which gives PIL's reason too)
        assert sum(repr(bad[split]) in line for line in out.splitlines()) == 1, split
    assert 'reconstruction pictures: skipped 1 unreadable image(s), read the next' in out
    assert out.count(': left out 1 unreadable image(s): ') == 2  # each kNN split
