"""Small image folders and shards for the data tests, cut from the demo photographs or drawn."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from pathlib import Path

from mmengine.registry import DefaultScope
from PIL import Image

import mae_plugin  # noqa: F401  (registers the transforms PIPELINE names)
from mae_plugin.engine.pretrain.dataset import MAEImageFolder

# the demo's pretraining pipeline at 64 px, patch 8
PIPELINE = [
    dict(type='MAELoadImage'),
    dict(type='MAERandomResizedCrop', size=64, scale=(0.2, 1.0), interpolation='bicubic'),
    dict(type='MAERandomFlip', prob=0.5),
    dict(type='MAEMaskGenerator', input_size=64, patch_size=8, mask_ratio=0.75),
    dict(type='MAEPackInputs'),
]


def make_folder(tmp_path: Path, demo_root: str, layout: dict[str, str]) -> str:
    """``tmp_path`` with ``layout``: {relative path: demo photograph name} (its full JPEG)."""
    for rel, name in layout.items():
        dst = tmp_path / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(os.path.join(demo_root, 'train', f'{name}.jpg'), dst)
    return str(tmp_path)


def tiles(tmp_path: Path, demo_root: str, layout: dict[str, list[str]]) -> str:
    """layout: {split/class: [demo photograph names]}; one 64 px tile of each photograph
    (``knn/train/<name>/r0c1.jpg`` of the demo split), named after the photograph."""
    for folder, names in layout.items():
        os.makedirs(tmp_path / folder, exist_ok=True)
        for name in names:
            shutil.copy(
                os.path.join(demo_root, 'knn', 'train', name, 'r0c1.jpg'),
                tmp_path / folder / f'{name}.jpg',
            )
    return str(tmp_path)


def dataset(root: str, **kw) -> MAEImageFolder:
    """The pretraining dataset of ``root/train`` through ``PIPELINE``."""
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        return MAEImageFolder(
            data_root=root, data_prefix=dict(img_path='train'), pipeline=PIPELINE, **kw
        )


def write_tar(path, members: list[tuple[str, bytes]]) -> None:
    """A tar shard of ``members`` (name, bytes), in order."""
    with tarfile.open(path, 'w') as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def jpeg(color) -> bytes:
    """A 40 x 30 JPEG of one ``color``."""
    out = io.BytesIO()
    Image.new('RGB', (40, 30), color).save(out, format='JPEG')
    return out.getvalue()


def with_unreadable_val(tmp_path, demo_root):
    """A copy of the demo tiles whose val split holds one more file, unreadable: 81 files.
    Returns (root, path of the unreadable file)."""
    root = tmp_path / 'knn'
    shutil.copytree(os.path.join(demo_root, 'knn'), root)
    first = sorted(os.listdir(root / 'val'))[0]
    bad = root / 'val' / first / 'zz_unreadable.jpg'
    bad.write_bytes(b'not an image at all')
    return str(root), str(bad)


def with_corrupt_train(tmp_path, demo_root) -> str:
    """data_root with 6 photographs and 2 unreadable files in train/ (8 = 2 batches of 4)."""
    train = tmp_path / 'data' / 'train'
    train.mkdir(parents=True)
    for name in sorted(os.listdir(os.path.join(demo_root, 'train')))[:6]:
        shutil.copy(os.path.join(demo_root, 'train', name), train / name)
    (train / 'bad_text.jpg').write_text('not an image')
    photo = (train / sorted(os.listdir(train))[0]).read_bytes()
    (train / 'bad_truncated.jpg').write_bytes(photo[:200])
    return str(tmp_path / 'data')
