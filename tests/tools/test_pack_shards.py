"""tools/pack_shards.py: an image folder with class folders round-trips through the shards
(every image once, right label, longer side <= --max-side, aspect kept), atomically."""

import io
import os
import sys

import pytest
from PIL import Image

from mae_plugin.data.pack import pack_folder
from mae_plugin.data.shards import ShardStream, read_members
from tests.helpers import processes
from tests.helpers.paths import ROOT

SIZES = [(500, 375), (375, 500), (800, 600), (200, 150), (640, 480), (321, 100), (90, 90)]


@pytest.fixture
def folder(tmp_path):
    """7 images in classes 'cat' (4) and 'dog' (3), and an empty class 'eel'."""
    src = tmp_path / 'src'
    for i, size in enumerate(SIZES):
        cls = 'cat' if i < 4 else 'dog'
        (src / cls).mkdir(parents=True, exist_ok=True)
        Image.new('RGB', size, (30 * i, 0, 0)).save(src / cls / f'img{i}.JPEG', quality=95)
    (src / 'eel').mkdir()
    return src


def read_back(out):
    samples = {}
    for name in sorted(os.listdir(out)):
        if name.endswith('.tar'):
            errors = []
            for raw in read_members(os.path.join(out, name), errors):
                samples[raw['__key__']] = (name, raw)
            assert errors == []
    return samples


def test_round_trip_every_image_once_with_its_label(folder, tmp_path):
    out = str(tmp_path / 'shards')
    tool = os.path.join(ROOT, 'tools', 'pack_shards.py')
    env = processes.environment(PYTHONPATH=os.pathsep.join([ROOT] + sys.path))
    options = ['--max-side', '320', '--shard-size', '3']
    proc = processes.python(tool, str(folder), out, *options, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '7 images -> 3 shards' in proc.stdout
    assert sorted(os.listdir(out)) == [
        'classes.txt',
        'manifest.tsv',
        'shard-000000.tar',
        'shard-000001.tar',
        'shard-000002.tar',
    ]  # no temporary file left
    classes = open(os.path.join(out, 'classes.txt')).read().split()
    assert classes == ['cat', 'dog', 'eel']  # the empty class keeps its label
    rows = [line.rstrip('\n').split('\t') for line in open(os.path.join(out, 'manifest.tsv'))][1:]
    assert sorted(row[2] for row in rows) == sorted(
        f'{"cat" if i < 4 else "dog"}/img{i}.JPEG' for i in range(len(SIZES))
    )
    samples = read_back(out)
    assert len(samples) == 7 and sorted(samples) == sorted(row[1] for row in rows)
    for shard, key, source, label in rows:
        name, raw = samples[key]
        assert name == shard and set(raw) >= {'jpg', 'cls'}
        assert int(raw['cls']) == int(label) == classes.index(source.split('/')[0])
        w, h = Image.open(io.BytesIO(raw['jpg'])).size
        w0, h0 = SIZES[int(source.split('img')[1].split('.')[0])]
        assert max(w, h) == min(320, max(w0, h0))  # longer side <= 320, small ones as they were
        assert abs(w / h - w0 / h0) < 0.02  # aspect kept


def test_flat_folder_has_no_labels_and_a_full_folder_is_refused(folder, tmp_path):
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


def test_labelled_shards_stream_through_the_registered_dataset(folder, tmp_path):
    """MAEShardStream built from a config: the folder pipeline, labels from .cls, class names
    from classes.txt."""
    from mae_plugin.engine.registry import DATASETS

    out = str(tmp_path / 'shards')
    pack_folder(str(folder), out, shard_size=3)
    stream = DATASETS.build(
        dict(
            type='MAEShardStream',
            data_root=out,
            shards='shard-{000000..000002}.tar',
            classes='classes.txt',
            pipeline=[
                dict(type='MAELoadImage'),
                dict(type='MAERandomResizedCrop', size=32),
                dict(type='MAEPackInputs'),
            ],
        )
    )
    assert stream.metainfo['classes'] == ('cat', 'dog', 'eel') and len(stream) == 7
    rows = [line.rstrip('\n').split('\t') for line in open(os.path.join(out, 'manifest.tsv'))]
    label_of = {key: int(label) for _, key, _, label in rows[1:]}
    # the same stream, names only: the same order (seed 0, epoch 0)
    names = ShardStream('shard-*.tar', lambda s: s['img_name'], out, epochs=1)
    labels = [(int(s['data_samples']['label']), n) for s, n in zip(stream, names, strict=False)]
    assert len(labels) == 7
    for label, name in labels:
        assert label == label_of[name.rsplit(':', 1)[1].split('.')[0]]
    assert sorted(stream.get_data_info(i)['gt_label'] for i in range(7)) == [0, 0, 0, 0, 1, 1, 1]
