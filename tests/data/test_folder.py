"""The runner-free folder scan: empty classes are reported through the given callback."""

import os

import mae_plugin  # noqa: F401
from mae_plugin import data


def test_the_scan_reports_empty_classes_through_the_given_callback(tmp_path, demo_root):
    (tmp_path / 'a').mkdir()
    (tmp_path / 'b').mkdir()
    (tmp_path / 'a' / 'x.jpg').write_bytes(
        open(os.path.join(demo_root, 'train', 'moon.jpg'), 'rb').read()
    )
    said = []
    samples, classes = data.scan_image_folder(str(tmp_path), warn=said.append)
    assert classes == ['a', 'b'] and [label for _, label in samples] == [0]
    assert len(said) == 1 and "['b'] hold no images" in said[0]
