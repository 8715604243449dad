"""The commands that read images keep a 16-bit or 32-bit file's contrast: the original panel of
``tools/visualize_reconstruction.py``, and ``tools/pack_shards.py`` read back through the shard
reader, give a deep file what they give its 8-bit twin, within 1 level."""

import os
import shutil
import sys

import numpy as np
import torch
from PIL import Image

from mae_plugin.apis import init_model
from mae_plugin.data.image import read_center_crop
from mae_plugin.data.shards import ShardStream
from mae_plugin.data.transforms import MAELoadImage
from mae_plugin.monitor.layout import GAP, HEADER
from tests.helpers import processes
from tests.helpers.paths import ROOT
from tests.helpers.ramps import DEEP, FOLDER_KINDS, assert_close, assert_ramp, write_ramps

DEMO_CFG = os.path.join(ROOT, 'configs', 'mae_vit-t_demo.py')
STEP = 4 * 64 + GAP  # a 64-px demo panel enlarged 4 x, and the gap after it


def run(*args: str) -> processes.Finished:
    """``python ARGS`` with this interpreter's import path (AssertionError unless it ends 0)."""
    env = processes.environment(PYTHONPATH=os.pathsep.join([ROOT] + sys.path))
    return processes.python(*args, env=env, timeout=300)


def test_visualize_reconstruction_shows_deep_files_with_their_contrast(tmp_path):
    ramps = write_ramps(str(tmp_path / 'ramps'))
    kinds = list(DEEP)
    images = [ramps[k][0] for k in kinds] + [ramps['grey16.png'][1], ramps['rgb16.png'][1]]
    ckpt = tmp_path / 'model.pth'
    torch.save({'state_dict': init_model(DEMO_CFG).state_dict()}, ckpt)
    out = tmp_path / 'recon.png'
    tool = os.path.join(ROOT, 'tools', 'visualize_reconstruction.py')
    run(tool, DEMO_CFG, str(ckpt), *images, '--out', str(out))
    picture = np.asarray(Image.open(out).convert('RGB'))
    originals = [picture[HEADER + r * STEP :][:256, :256] for r in range(len(images))]
    twins = {'grey8.png': originals[-2], 'rgb8.png': originals[-1]}
    for kind, original in zip(kinds, originals, strict=False):
        assert_close(original, twins[DEEP[kind]])  # the twin's panel, within a level
        assert_ramp(original)


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
