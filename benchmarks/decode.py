"""Per-core decode speed of tar shards written by ``tools/pack_shards.py`` against the original
JPEGs (``tools/benchmark.py --decode WORK_DIR``).

Two sets: the demo photographs and ImageNet-like JPEGs (``--data``'s generator: 500 x 375 to
800 x 600, quality 90, cut from those photographs). Each set is packed with the defaults
(--max-side 320, JPEG quality 90); then, in one process with one torch thread (what one loader
worker does), every image is decoded to RGB (``load_image``) and, second, put through the
config's ``MAELoadRandomResizedCrop`` (reduced-scale JPEG decoding where the crop allows, on
files and shards alike). Shard timings include reading the tars. Files and shards alternate
round by round and the best round of each is printed (a shared machine only slows runs down).
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Callable, Iterator

import torch
from mmengine.config import Config

from mae_plugin.data.image import load_image
from mae_plugin.data.pack import pack_folder
from mae_plugin.data.shards import read_members
from mae_plugin.data.transforms import MAELoadRandomResizedCrop

from .data import write_imagenet_like_jpegs
from .machine import machine_line


def jpegs(folder: str) -> list[str]:
    """Every .jpg / .jpeg under ``folder``, sorted."""
    return sorted(
        p
        for p in glob.glob(os.path.join(folder, '**', '*'), recursive=True)
        if p.lower().endswith(('.jpg', '.jpeg'))
    )


def file_samples(folder: str) -> Iterator[dict]:
    for path in jpegs(folder):
        yield {'img_path': path}


def shard_samples(folder: str) -> Iterator[dict]:
    for path in sorted(glob.glob(os.path.join(folder, '*.tar'))):
        for raw in read_members(path, []):
            yield {'img_bytes': raw['jpg']}


def config_load_crop(config: str) -> dict:
    """The ``MAELoadRandomResizedCrop`` step of ``config``'s training pipeline."""
    pipeline = Config.fromfile(config).train_dataloader.dataset.pipeline
    for step in pipeline:
        if step['type'] == 'MAELoadRandomResizedCrop':
            return dict(step)
    raise ValueError(f'{config}: no MAELoadRandomResizedCrop in the training pipeline')


def rate(samples: Iterator[dict], load_crop: Callable[[dict], dict] | None) -> float:
    """img/s of decoding each sample to RGB, or (``load_crop`` given) of that load + crop
    transform, which decodes only what the crop needs."""
    start, n = time.perf_counter(), 0
    for sample in samples:
        if load_crop is not None:
            load_crop(sample)
        else:
            load_image(sample.get('img_path') or sample['img_bytes'])
        n += 1
    return n / (time.perf_counter() - start)


def compare_decoding(
    config: str, work_dir: str, src: str = 'data/demo/train', rounds: int = 3, imagenet: int = 200
) -> dict[tuple[str, str], dict[str, float]]:
    """Print and return the best img/s of files and shards per (set, stage); packed shards and
    the generated set are kept in ``work_dir`` and reused."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    step = config_load_crop(config)
    load_crop = MAELoadRandomResizedCrop(**{k: v for k, v in step.items() if k != 'type'})
    sets = {'demo photographs': src}
    inet = os.path.join(work_dir, 'imagenet_sized')
    if not os.path.isdir(inet):
        write_imagenet_like_jpegs(inet, imagenet)
    sets['ImageNet-size JPEGs'] = inet
    said = ', '.join(f'{k} {v}' for k, v in step.items() if k != 'type')
    print(
        f'{machine_line("cpu", 1)}, best of {rounds}; load+crop: {config} '
        f'MAELoadRandomResizedCrop({said})',
        flush=True,
    )
    print(
        f'{"set":22s} {"n":>4s} {"MB":>6s} {"stage":14s} {"files img/s":>11s} '
        f'{"shards img/s":>12s} {"speed-up":>8s}'
    )
    found = {}
    for name, folder in sets.items():
        packed = os.path.join(work_dir, 'shards_' + os.path.basename(folder))
        if not os.path.isdir(packed):
            pack_folder(folder, packed)
        n = len(jpegs(folder))
        mb = sum(os.path.getsize(p) for p in jpegs(folder)) / 1e6
        sources = {'files': (file_samples, folder), 'shards': (shard_samples, packed)}
        for stage, crop in (('decode', None), ('load+crop', load_crop)):
            best: dict[str, float] = {}
            for _ in range(rounds):  # interleaved: both see the same machine load
                for kind, (samples, where) in sources.items():
                    best[kind] = max(best.get(kind, 0.0), rate(samples(where), crop))
            print(
                f'{name:22s} {n:4d} {mb:6.1f} {stage:14s} {best["files"]:11.1f} '
                f'{best["shards"]:12.1f} {best["shards"] / best["files"]:7.2f}x'
            )
            found[(name, stage)] = best
    return found
