"""tools/demo_data.py: a run killed while it writes leaves no truncated image behind; the next
run, which keeps the files it finds, then writes the missing ones whole."""

import contextlib
import os

import pytest
from PIL import Image

from tools import demo_data


def test_a_write_killed_midway_leaves_no_file_and_the_next_run_completes(tmp_path, monkeypatch):
    save, calls = Image.Image.save, []

    def killed_on_the_third(image, fp, *args, **kwargs):
        calls.append(fp)
        if len(calls) == 3:
            # the first bytes of a JPEG, to a path or a file, then the process "dies"
            with open(fp, 'wb') if isinstance(fp, str) else contextlib.nullcontext(fp) as f:
                f.write(b'\xff\xd8\xff')
            raise KeyboardInterrupt
        return save(image, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, 'save', killed_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        demo_data.prepare_demo_images(str(tmp_path))
    assert sorted(os.listdir(tmp_path / 'train')) == sorted(
        os.path.basename(path) for path in demo_data_paths(tmp_path)[:2]
    )
    monkeypatch.setattr(Image.Image, 'save', save)
    paths = demo_data.prepare_demo_images(str(tmp_path))
    assert sorted(os.listdir(tmp_path / 'train')) == sorted(os.path.basename(p) for p in paths)
    for path in paths:
        with Image.open(path) as image:
            image.load()  # a truncated JPEG fails here


def demo_data_paths(root) -> list[str]:
    """The paths prepare_demo_images writes, in its order."""
    return [os.path.join(root, 'train', f'{name}.jpg') for name in sorted(demo_data.demo_arrays())]
