"""scikit-learn's handwritten digits written as a labelled image folder (``tools/demo_data.py``)."""

import os

from tools.demo_data import prepare_digits


def digits_folder(root):
    """The digits under ``root``, 1442 training and 355 validation images; the folder's path."""
    assert prepare_digits(root) == (1442, 355)
    return os.path.join(root, 'digits')
