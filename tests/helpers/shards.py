"""Shards for the shard-stream tests: the demo photographs packed, the tiny demo trained on them
in process, a small labelled folder to pack, and packed shards read back."""

import os
import uuid

from PIL import Image

from mae_plugin.data.pack import pack_folder
from mae_plugin.data.shards import read_members
from mae_plugin.engine.runtime.launch import build_train_config, run_training
from tests.helpers.mmengine_runs import TINY, demo_options, without_monitors
from tests.helpers.paths import ROOT
from tests.helpers.scripts import shard_probe  # noqa: F401  (registers StreamProbeHook)

SHARDS = os.path.join(ROOT, 'configs', 'mae_vit-t_demo_shards.py')
SIZES = [(500, 375), (375, 500), (800, 600), (200, 150), (640, 480), (321, 100), (90, 90)]


def pack_demo(tmp_path_factory, demo_root: str) -> str:
    """The demo photographs as 5 shards of 4 (the demo config's packing), in a new folder."""
    out = str(tmp_path_factory.mktemp('shards'))
    pack_folder(os.path.join(demo_root, 'train'), out, shard_size=4)
    return out


def options(demo_root, shard_root, iters, ckpt_interval, workers=2):
    """The tiny demo on the shards, without the pictures and the kNN monitor."""
    options = demo_options(
        demo_root,
        iters,
        ckpt_interval,
        **{
            **TINY,
            'train_dataloader.dataset.data_root': shard_root,
            'train_dataloader.num_workers': workers,
            'custom_hooks': [dict(type='ShardStreamStateHook'), dict(type='StreamProbeHook')],
            'default_hooks.checkpoint.max_keep_ckpts': 5,
        },
    )
    return without_monitors(options)


def train(work, opts, resume=None):
    """The shards config trained in this process in ``work`` with ``opts``."""
    cfg = build_train_config(SHARDS, work_dir=work, cfg_options=opts, resume=resume)
    cfg.experiment_name = f'test_{uuid.uuid4().hex[:8]}'
    run_training(cfg)  # which ends its 2 loader workers


def class_folder(tmp_path):
    """7 images of ``SIZES`` in classes 'cat' (4) and 'dog' (3), and an empty class 'eel'."""
    src = tmp_path / 'src'
    for i, size in enumerate(SIZES):
        cls = 'cat' if i < 4 else 'dog'
        (src / cls).mkdir(parents=True, exist_ok=True)
        Image.new('RGB', size, (30 * i, 0, 0)).save(src / cls / f'img{i}.JPEG', quality=95)
    (src / 'eel').mkdir()
    return src


def read_back(out) -> dict:
    """Every sample of the shards in ``out``: key -> (shard name, raw members); none unreadable."""
    samples = {}
    for name in sorted(os.listdir(out)):
        if name.endswith('.tar'):
            errors = []
            for raw in read_members(os.path.join(out, name), errors):
                samples[raw['__key__']] = (name, raw)
            assert errors == []
    return samples
