"""tools/pack_shards.py: an image folder with class folders round-trips through the shards
(every image once, right label, longer side <= --max-side, aspect kept), atomically; a deep
(16-bit, 32-bit) file read back through the shard reader keeps its contrast."""

import io
import os
import shutil
import sys

import numpy as np
import pytest
from PIL import Image

from mae_plugin.data.image import read_center_crop
from mae_plugin.data.shards import ShardStream
from mae_plugin.data.transforms import MAELoadImage
from tests.helpers import processes
from tests.helpers.paths import ROOT
from tests.helpers.ramps import FOLDER_KINDS, assert_close, assert_ramp, write_ramps
from tests.helpers.shards import SIZES, class_folder, read_back
from tests.helpers.tools import run


@pytest.fixture
def folder(tmp_path):
    """7 images in classes 'cat' (4) and 'dog' (3), and an empty class 'eel'."""
    return class_folder(tmp_path)


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


def test_packed_shards_keep_the_contrast_of_deep_files(tmp_path):
    """One folder holds every deep kind and its twin (renamed ``<kind>-twin.png``); the shards
    are read back by ``ShardStream`` (the training images) and by the reconstruction hook's
    reader of a shard member (``img_bytes``)."""
    src = tmp_path / 'src'
    ramps = write_ramps(str(tmp_path / 'ramps'), FOLDER_KINDS)
    src.mkdir()
    for kind in FOLDER_KINDS:
        deep, twin = ramps[kind]
        shutil.copy(deep, src / kind)
        shutil.copy(twin, src / f'{kind}-twin.png')
    out = tmp_path / 'shards'
    proc = run(os.path.join(ROOT, 'tools', 'pack_shards.py'), str(src), str(out))
    assert f'{2 * len(FOLDER_KINDS)} images -> 1 shards' in proc.stdout
    source = {}  # shard key -> source file name
    for line in open(out / 'manifest.tsv').read().splitlines()[1:]:
        _, key, name, _ = line.split('\t')
        source[key] = name
    read = {}
    for sample in ShardStream('*.tar', MAELoadImage(), str(out), epochs=1):
        key = sample['img_name'].rsplit(':', 1)[1].split('.')[0]
        read[source[key]] = (np.asarray(sample['img']), read_center_crop(sample['img_bytes'], 64))
    assert sorted(read) == sorted(os.listdir(src))
    for kind in FOLDER_KINDS:
        (image, view), (twin, twin_view) = read[kind], read[f'{kind}-twin.png']
        assert_close(image, twin)
        assert_close(view, twin_view)
        assert_ramp(image)
        assert_ramp(view)
