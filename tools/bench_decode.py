"""Per-core decode speed of tar shards written by tools/pack_shards.py against the original JPEGs.

    python tools/bench_decode.py WORK_DIR [--rounds 3] [--imagenet 200]

Two sets: the demo photographs (data/demo/train) and ``--imagenet`` ImageNet-like JPEGs
(``tools/benchmark.py --data``'s set: 500 x 375 to 800 x 600, quality 90, cut from those
photographs). Each set is packed with the defaults (--max-side 320, JPEG quality 90); then, in
this one process with one torch thread, every image is decoded to RGB (``load_image``) and,
second, put through the pretraining configs' ``MAELoadRandomResizedCrop`` (224, (0.2, 1),
bicubic; reduced-scale JPEG decoding where the crop allows, on files and shards alike). Shard
timings include reading the tars. The best of ``--rounds`` rounds is printed (a shared machine
only slows runs down).
"""

import argparse
import glob
import os
import platform
import time

import torch

from mae_plugin.benchmark.data import write_imagenet_like_jpegs
from mae_plugin.data.image import load_image
from mae_plugin.data.pack import pack_folder
from mae_plugin.data.shards import read_members
from mae_plugin.data.transforms import MAELoadRandomResizedCrop


def jpegs(folder: str) -> list[str]:
    return sorted(
        p
        for p in glob.glob(os.path.join(folder, '**', '*'), recursive=True)
        if p.lower().endswith(('.jpg', '.jpeg'))
    )


def files(folder: str):
    for path in jpegs(folder):
        yield {'img_path': path}


def shards(folder: str):
    for path in sorted(glob.glob(os.path.join(folder, '*.tar'))):
        for raw in read_members(path, []):
            yield {'img_bytes': raw['jpg']}


def rate(samples, crop: bool) -> float:
    """img/s of decoding each sample to RGB, or (``crop``) of the pretraining configs' load +
    crop transform, which decodes only what the crop needs."""
    load_crop = MAELoadRandomResizedCrop(224)
    start, n = time.perf_counter(), 0
    for sample in samples:
        if crop:
            load_crop(sample)
        else:
            load_image(sample.get('img_path') or sample['img_bytes'])
        n += 1
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir')
    parser.add_argument('--src', default='data/demo/train')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--imagenet', type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    sets = {'demo photographs': args.src}
    inet = os.path.join(args.work_dir, 'imagenet_sized')
    if not os.path.isdir(inet):
        write_imagenet_like_jpegs(inet, args.imagenet)
    sets['ImageNet-size JPEGs'] = inet
    print(f'{platform.processor() or platform.machine()}, 1 thread, best of {args.rounds}')
    print(
        f'{"set":22s} {"n":>4s} {"MB":>6s} {"stage":14s} {"files img/s":>11s} '
        f'{"shards img/s":>12s} {"speed-up":>8s}'
    )
    for name, folder in sets.items():
        packed = os.path.join(args.work_dir, 'shards_' + os.path.basename(folder))
        if not os.path.isdir(packed):
            pack_folder(folder, packed)
        n = len(jpegs(folder))
        mb = sum(os.path.getsize(p) for p in jpegs(folder)) / 1e6
        for stage, crop in (('decode', False), ('load+crop', True)):
            best = {}
            for _ in range(args.rounds):  # interleaved: both see the same machine load
                for kind, source in (('files', files(folder)), ('shards', shards(packed))):
                    best[kind] = max(best.get(kind, 0.0), rate(source, crop))
            print(
                f'{name:22s} {n:4d} {mb:6.1f} {stage:14s} {best["files"]:11.1f} '
                f'{best["shards"]:12.1f} {best["shards"] / best["files"]:7.2f}x'
            )


if __name__ == '__main__':
    main()
