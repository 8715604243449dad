"""tools/prepare_demo_data.py's writers: scikit-learn's handwritten digits as a deterministic
labelled image folder."""

import glob
import os

import numpy as np
from PIL import Image

from tools.demo_data import prepare_digits


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
