"""The monitors' fixed images: unreadable files passed over and named once, the pictures'
batch taken from the first readable training images with seeded masks, labelled splits
numbered by the training split's classes."""

import numpy as np
import pytest
import torch
from PIL import Image

from mae_plugin.models.masking import fixed_masks
from mae_plugin.monitor import views
from mae_plugin.monitor.views import picture_batch, read_fixed_views, read_labelled_split


def write_image(path, value: int, size: int = 20) -> str:
    """A ``size`` x ``size`` JPEG of one grey ``value`` (its own look: told apart after a crop)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), value, np.uint8)).save(path)
    return str(path)


def write_unreadable(path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'not an image')
    return str(path)


def test_unreadable_sources_are_passed_over_and_named_once(tmp_path):
    good = [write_image(tmp_path / f'{i}.jpg', 40 * i) for i in range(3)]
    bad = write_unreadable(tmp_path / 'bad.jpg')
    said = []
    kept, images = read_fixed_views(
        [(p, p) for p in (good[0], bad, good[1], good[2])], 16, warn=said.append, what='test'
    )
    assert kept == [0, 2, 3] and images.shape == (3, 3, 16, 16) and images.dtype == torch.uint8
    assert [int(images[i].float().mean().round()) for i in range(3)] == [0, 40, 80]
    assert len(said) == 1 and said[0].startswith('test: left out 1 unreadable image(s): ')
    assert repr(bad) in said[0]


def test_reading_stops_at_count_without_touching_the_rest(tmp_path):
    good = [write_image(tmp_path / f'{i}.jpg', 40 * i) for i in range(2)]
    bad = write_unreadable(tmp_path / 'bad.jpg')

    def sources():
        yield bad, bad
        yield from ((p, p) for p in good)
        raise AssertionError('read past count')

    said = []
    kept, images = read_fixed_views(sources(), 16, count=2, warn=said.append, what='pictures')
    assert kept == [1, 2] and len(images) == 2
    said_first = 'pictures: skipped 1 unreadable image(s), read the next readable ones instead: '
    assert len(said) == 1 and said[0].startswith(said_first + repr(bad))


def test_the_picture_batch_is_the_first_readable_images_with_seeded_masks(tmp_path):
    bad = write_unreadable(tmp_path / 'a.jpg')
    good = [write_image(tmp_path / f'b{i}.jpg', 30 * i) for i in range(5)]
    sources = [(p, p) for p in [bad, *good]]
    said = []
    images, masks = picture_batch(sources, 16, (4, 4), 0.75, 3, 7, said.append)
    assert images.shape == (3, 3, 16, 16)
    assert [int(images[i].float().mean().round()) for i in range(3)] == [0, 30, 60]
    assert torch.equal(masks, fixed_masks((4, 4), 3, 0.75, 'random', 7))
    assert len(said) == 1 and 'reconstruction pictures: skipped 1 unreadable' in said[0]


def test_the_picture_batch_looks_only_so_far_and_may_be_empty(tmp_path, monkeypatch):
    monkeypatch.setattr(views, 'LOOK_AHEAD', 2)
    bad = [write_unreadable(tmp_path / f'{i}.jpg') for i in range(2)]
    good = write_image(tmp_path / 'z.jpg', 10)
    said = []
    images, masks = picture_batch(
        [(p, p) for p in [*bad, good]], 16, (4, 4), 0.75, 2, 0, said.append
    )
    assert images.shape == (0, 3, 16, 16) and masks.shape == (0, 16)  # z.jpg lies past 2 files
    assert said[-1] == 'reconstruction pictures: no readable training image, none drawn'


def test_labelled_splits_follow_the_training_classes(tmp_path):
    for name, value in (('a', 0), ('b', 100), ('c', 200)):
        write_image(tmp_path / 'train' / name / '0.jpg', value)
    write_image(tmp_path / 'val' / 'c' / '0.jpg', 200)
    write_unreadable(tmp_path / 'val' / 'c' / '1.jpg')
    said = []
    train_x, train_y, classes = read_labelled_split(str(tmp_path / 'train'), 16)
    val_x, val_y, _ = read_labelled_split(str(tmp_path / 'val'), 16, classes, said.append)
    assert classes == ['a', 'b', 'c'] and train_y.tolist() == [0, 1, 2]
    assert val_y.tolist() == [2] and val_x.shape == (1, 3, 16, 16)  # 'c' is class 2, not 0
    assert len(said) == 1 and '1.jpg' in said[0] and 'left out 1 unreadable' in said[0]


def test_a_labelled_split_refuses_loose_foreign_or_unreadable_images(tmp_path):
    write_image(tmp_path / 'train' / 'a' / '0.jpg', 0)
    write_image(tmp_path / 'loose' / 'a' / '0.jpg', 0)
    write_image(tmp_path / 'loose' / 'x.jpg', 0)
    with pytest.raises(ValueError, match=r"x\.jpg'? is outside the class sub-folders"):
        read_labelled_split(str(tmp_path / 'loose'), 16)
    write_image(tmp_path / 'val' / 'z' / '0.jpg', 0)
    with pytest.raises(ValueError, match="'z'"):
        read_labelled_split(str(tmp_path / 'val'), 16, ['a'])
    write_unreadable(tmp_path / 'broken' / 'a' / '0.jpg')
    with pytest.raises(ValueError, match='none of its 1 images is readable'):
        read_labelled_split(str(tmp_path / 'broken'), 16, warn=lambda _: None)
