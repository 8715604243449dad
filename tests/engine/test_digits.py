"""scikit-learn's handwritten digits as a labelled image folder, and the digits config run on a
small subset of them: the kNN monitor scores the random encoder before the first step."""

import glob
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from mae_plugin.monitor.layout import GAP, HEADER
from tests.helpers import in_process, scalars
from tests.helpers.paths import ROOT
from tools.demo_data import prepare_digits

DIGITS = os.path.join(ROOT, 'configs', 'mae_vit-t_digits.py')


@pytest.fixture(scope='module')
def digits_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('digits'))
    assert prepare_digits(root) == (1442, 355)
    return os.path.join(root, 'digits')


def test_digits_are_written_as_a_deterministic_labelled_split(digits_root, tmp_path):
    from sklearn.datasets import load_digits

    for split, share in (('train', 0.8), ('val', 0.2)):
        assert sorted(os.listdir(os.path.join(digits_root, split))) == [str(d) for d in range(10)]
        for digit in range(10):
            count = len(os.listdir(os.path.join(digits_root, split, str(digit))))
            assert abs(count - share * 180) < 12, (split, digit, count)  # ~180 per digit
    digits = load_digits()
    threes = np.flatnonzero(digits.target == 3)
    val_threes = sorted(os.listdir(os.path.join(digits_root, 'val', '3')))
    assert val_threes[:2] == [f'{threes[4]:04d}.png', f'{threes[9]:04d}.png']  # 5th, 10th
    image = Image.open(os.path.join(digits_root, 'val', '3', val_threes[0]))
    assert image.size == (32, 32) and image.mode == 'L'
    # the ink is where the package's 8 x 8 image has it: 4 x 4 means of the picture follow it
    small = np.asarray(image, dtype=float).reshape(8, 4, 8, 4).mean(axis=(1, 3))
    assert np.corrcoef(small.ravel(), digits.images[threes[4]].ravel())[0, 1] > 0.95
    again = prepare_digits(str(tmp_path))  # the same split, file for file
    assert again == (1442, 355)
    for split in ('train', 'val'):
        ours = sorted(glob.glob(os.path.join(digits_root, split, '*', '*.png')))
        theirs = sorted(glob.glob(os.path.join(str(tmp_path), 'digits', split, '*', '*.png')))
        assert [os.path.relpath(p, digits_root) for p in ours] == [
            os.path.relpath(p, os.path.join(str(tmp_path), 'digits')) for p in theirs
        ]


@pytest.mark.slow
def test_the_digits_config_scores_the_random_encoder_before_training(digits_root, tmp_path):
    subset = tmp_path / 'subset'
    for split, count in (('train', 6), ('val', 2)):
        for digit in range(10):
            folder = os.path.join(digits_root, split, str(digit))
            os.makedirs(subset / split / str(digit))
            for name in sorted(os.listdir(folder))[:count]:
                shutil.copy(os.path.join(folder, name), subset / split / str(digit))
    work = str(tmp_path / 'work')
    options = {
        'train_dataloader.dataset.data_root': str(subset),
        'train_dataloader.batch_size': 16,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_cfg.max_iters': 3,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': 3,
        'default_hooks.visualization.interval': 3,
        'default_hooks.knn.data_root': str(subset),
        'default_hooks.knn.interval': 3,
    }
    # tools/train.py's functions, in this process: docs/monitoring.md runs the config through
    # the command line (tests/docs)
    _, out = in_process.train(DIGITS, work, options)
    assert 'kNN top-1 (k=20, T=0.07, avg)' in out and 'at iteration 0' in out
    (rows,) = scalars.runs(work)
    assert set(rows[0]) == {'knn_top1', 'step'} and rows[0]['step'] == 0  # before any step
    assert [r['step'] for r in rows if 'knn_top1' in r] == [0, 3]
    assert all(0 <= r['knn_top1'] <= 100 for r in rows if 'knn_top1' in r)
    assert [r['step'] for r in rows if 'loss' in r] == [1, 2, 3]
    # 32-px digits: panels enlarged 7 x to 224 px
    (picture,) = glob.glob(os.path.join(work, '*', 'vis_data', 'vis_image', '*_3.png'))
    step = 7 * 32 + GAP
    assert Image.open(picture).size == (4 * step - GAP, HEADER + 4 * step - GAP)
