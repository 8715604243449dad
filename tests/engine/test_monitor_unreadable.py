"""Monitors never end a run: an unreadable file among the first training images (the
reconstruction pictures' fixed images) and in both kNN splits is passed over, said once in the
log, through ``tools/train.py`` on the demo config."""

import glob
import os
import shutil

import pytest

from tests.helpers import in_process
from tests.helpers.mmengine_runs import TINY, demo_options
from tests.helpers.paths import DEMO


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
