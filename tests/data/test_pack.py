"""Image folder -> tar shards (``data/pack.py``): each image is its bicubic resize to a longer
side of at most ``max_side`` (smaller ones as they are), re-encoded by PIL as JPEG at
``quality``; ``shard_size`` images a shard in the order ``random.Random(seed)`` shuffles the
sorted files into; a manifest and the byte counts say what went where; bad settings and a
folder mixing class folders and loose images are errors naming them."""

import io
import os
import random

import pytest
from PIL import Image

from mae_plugin.data.pack import encode, pack_folder
from tests.helpers.shards import read_back


def reference_jpeg(path, max_side, quality):
    """What the module docstring promises, with PIL alone."""
    image = Image.open(path).convert('RGB')
    longer = max(image.size)
    if longer > max_side:
        size = tuple(max(1, round(side * max_side / longer)) for side in image.size)
        image = image.resize(size, Image.Resampling.BICUBIC)
    out = io.BytesIO()
    image.save(out, format='JPEG', quality=quality)
    return out.getvalue()


def gradient(size):
    """An RGB image with some detail (a flat one would hide the resampling filter)."""
    w, h = size
    image = Image.new('RGB', size)
    image.putdata(
        [((7 * x) % 256, (5 * y) % 256, (x * y) % 256) for y in range(h) for x in range(w)]
    )
    return image


@pytest.mark.parametrize(
    'size, quality',
    [((500, 375), 90), ((375, 500), 60), ((321, 100), 90), ((100, 321), 90), ((90, 90), 60)]
    + [((320, 40), 90)],  # smaller, then exactly max_side: kept as they are
)
def test_an_image_is_resized_bicubic_to_its_longer_side_then_jpeg_encoded(tmp_path, size, quality):
    path = str(tmp_path / 'img.png')
    gradient(size).save(path)
    got = encode(path, 320, quality)
    assert got == reference_jpeg(path, 320, quality)
    w, h = Image.open(io.BytesIO(got)).size
    assert max(w, h) == min(320, max(size))


def test_shards_hold_shard_size_images_in_the_seeded_order_with_a_manifest(tmp_path):
    src = tmp_path / 'src'
    src.mkdir()
    for i in range(5):
        gradient((40 + i, 30)).save(src / f'img{i}.png')
    names = sorted(os.listdir(src))
    out = str(tmp_path / 'out')
    report = pack_folder(str(src), out, max_side=32, shard_size=2, quality=80, seed=3, prefix='p')
    order = names.copy()
    random.Random(3).shuffle(order)
    assert [os.path.basename(s) for s in report.shards] == [
        'p-000000.tar',
        'p-000001.tar',
        'p-000002.tar',
    ]
    rows = [
        line.split('\t') for line in open(os.path.join(out, 'manifest.tsv')).read().splitlines()
    ]
    assert rows[0] == ['shard', 'key', 'source', 'label']
    assert rows[1:] == [
        [f'p-{i // 2:06d}.tar', f'{i:09d}', name, '-1'] for i, name in enumerate(order)
    ]
    samples = read_back(out)
    for i, name in enumerate(order):
        shard, raw = samples[f'{i:09d}']
        assert shard == f'p-{i // 2:06d}.tar'
        assert raw['jpg'] == reference_jpeg(str(src / name), 32, 80)
    assert report.source_bytes == sum(os.path.getsize(src / n) for n in names)
    assert report.packed_bytes == sum(len(raw['jpg']) for _, raw in samples.values())
    other = pack_folder(str(src), str(tmp_path / 'other'), shard_size=2, seed=4, prefix='p')
    assert (
        open(os.path.join(tmp_path / 'other', 'manifest.tsv')).read()
        != open(os.path.join(out, 'manifest.tsv')).read()
    )
    assert other.images == 5


def test_flat_folder_has_no_labels_and_a_full_folder_is_refused(tmp_path):
    flat = tmp_path / 'flat'
    flat.mkdir()
    for i in range(3):
        Image.new('RGB', (64, 48)).save(flat / f'{i}.png')
    out = str(tmp_path / 'out')
    report = pack_folder(str(flat), out, shard_size=2)
    assert report.images == 3 and report.classes == [] and len(report.shards) == 2
    assert not os.path.exists(os.path.join(out, 'classes.txt'))
    assert all('cls' not in raw for _, raw in read_back(out).values())
    with pytest.raises(FileExistsError, match='already holds shards'):
        pack_folder(str(flat), out)


@pytest.mark.parametrize(
    'setting', [dict(max_side=0), dict(shard_size=0), dict(quality=0), dict(quality=101)]
)
def test_a_setting_out_of_range_is_an_error_naming_the_settings(tmp_path, setting):
    with pytest.raises(ValueError, match=r'max_side \(\d+\) and shard_size \(\d+\) must be'):
        pack_folder(str(tmp_path), str(tmp_path / 'out'), **setting)


def test_class_folders_with_loose_images_beside_them_are_refused(tmp_path):
    (tmp_path / 'src' / 'cat').mkdir(parents=True)
    Image.new('RGB', (8, 8)).save(tmp_path / 'src' / 'cat' / 'a.png')
    Image.new('RGB', (8, 8)).save(tmp_path / 'src' / 'loose.png')
    with pytest.raises(
        ValueError, match=r'class folders and loose images beside them \(.*loose.png'
    ):
        pack_folder(str(tmp_path / 'src'), str(tmp_path / 'out'))
    assert not os.path.exists(tmp_path / 'out' / 'manifest.tsv')
