"""Lightning and unreadable images: ``corrupt_images`` counts distinct files (not reads) across
epochs, ranks and a resume, and names each once; the reconstruction and kNN callbacks pass over
unreadable images and never end a run."""

import glob
import os
import shutil

import pytest
import torch

from mae_plugin.lightning import KNNMonitor
from tests.helpers.lightning_runs import (
    checkpoint_every,
    demo_callbacks,
    run_cli,
    tiny_args,
    tiny_cli,
)

LISTED = 'unreadable image file(s) skipped'
PASSED_OVER = 'unreadable image(s)'  # the pictures skip them, the kNN splits leave them out


@pytest.fixture
def data_with_unreadable(tmp_path, demo_root):
    """data_root with 6 photographs and 2 unreadable files in train/ (sorted first: the
    pictures' first images; 8 = 2 batches of 4), and the demo kNN splits with an unreadable file
    in a class folder of each. Returns (data_root, [train bad files], [kNN bad files])."""
    root = tmp_path / 'data'
    train = root / 'train'
    train.mkdir(parents=True)
    for name in sorted(os.listdir(os.path.join(demo_root, 'train')))[:6]:
        shutil.copy(os.path.join(demo_root, 'train', name), train / name)
    photo = (train / sorted(os.listdir(train))[0]).read_bytes()
    (train / '0000_text.jpg').write_text('not an image')
    (train / '0001_truncated.jpg').write_bytes(photo[:200])
    shutil.copytree(os.path.join(demo_root, 'knn'), root / 'knn')
    knn_bad = []
    for split in ('train', 'val'):
        first = sorted(os.listdir(root / 'knn' / split))[0]
        knn_bad.append(root / 'knn' / split / first / '0000_text.jpg')
        knn_bad[-1].write_text('not an image')
    train_bad = [str(train / '0000_text.jpg'), str(train / '0001_truncated.jpg')]
    return str(root), train_bad, [str(p) for p in knn_bad]


def messages(recorded, text):
    return [str(w.message) for w in recorded if text in str(w.message)]


def test_count_distinct_files_and_monitors_pass_over_them(tmp_path, data_with_unreadable, recwarn):
    root, train_bad, knn_bad = data_with_unreadable
    run = tmp_path / 'run'
    callbacks = [checkpoint_every(2)] + demo_callbacks(root, every=2)[1:]
    cli = tiny_cli(run, root, callbacks=callbacks)
    cli.trainer.fit(cli.model, cli.datamodule)
    assert cli.trainer.global_step == 4  # the run ended normally
    # 2 files, met in both epochs (and maybe by redraws): counted once each
    assert float(cli.trainer.callback_metrics['corrupt_images']) == 2
    at_2 = torch.load(run / 'checkpoints' / 'step_2.ckpt', weights_only=True)
    assert at_2['corrupt_images'] == sorted(train_bad)
    listed = messages(recwarn, LISTED)  # when first met: each file in one message
    assert all(sum(repr(p) in m for m in listed) == 1 for p in train_bad), listed
    # pictures of the first readable images, kNN of the readable tiles; each file said once
    for step in (2, 4):
        assert glob.glob(str(run / '**' / f'reconstruction_{step}.png'), recursive=True)
    knn = next(c for c in cli.trainer.callbacks if isinstance(c, KNNMonitor))
    assert [step for step, _ in knn.history] == [2, 4]
    said = messages(recwarn, PASSED_OVER)
    assert len(said) == 3, said  # the pictures, the kNN train split, the kNN val split
    assert sum('reconstruction pictures: skipped 2' in m for m in said) == 1
    assert sum(': left out 1 unreadable' in m for m in said) == 2
    for path in train_bad + knn_bad:
        assert sum(repr(path) in m for m in said) == 1, path
    # resumed from step 2: the count goes on from the checkpoint's names, none listed again
    recwarn.clear()
    again = tiny_cli(run, root, callbacks=[checkpoint_every(2)])
    again.trainer.fit(again.model, again.datamodule, ckpt_path=run / 'checkpoints' / 'step_2.ckpt')
    assert again.trainer.global_step == 4
    assert float(again.trainer.callback_metrics['corrupt_images']) == 2
    assert not messages(recwarn, LISTED)
    last = torch.load(run / 'checkpoints' / 'last.ckpt', weights_only=True)
    assert last['corrupt_images'] == sorted(train_bad)


@pytest.mark.slow
def test_two_ddp_ranks_count_each_file_once_and_the_monitors_go_on(tmp_path, data_with_unreadable):
    root, train_bad, _ = data_with_unreadable
    run = tmp_path / 'run'
    ddp = ['--trainer.accelerator', 'cpu', '--trainer.devices', '2', '--trainer.strategy', 'ddp']
    callbacks = [checkpoint_every(1)] + demo_callbacks(root, every=1)[1:]
    _, out = run_cli(['fit', *tiny_args(run, root, *ddp, callbacks=callbacks)])
    assert 'Starting with 2 processes' in out
    last = torch.load(run / 'checkpoints' / 'last.ckpt', weights_only=True)
    # 8 files / (4 x 2 ranks): 1 step an epoch, every file read once an epoch by one rank
    assert last['global_step'] == 2 and last['corrupt_images'] == sorted(train_bad)
    assert out.count(LISTED) == 1 and '2 in all' in out, out[-3000:]
    assert glob.glob(str(run / '**' / 'reconstruction_2.png'), recursive=True)
