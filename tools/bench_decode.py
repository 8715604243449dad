"""Per-core decode speed of tar shards written by tools/pack_shards.py against the original JPEGs.

    python tools/bench_decode.py WORK_DIR [--rounds 3] [--imagenet 200]

Two sets: the demo photographs (data/demo/train) and ``--imagenet`` JPEGs of ImageNet sizes
(500 x 375 to 800 x 600, 4:3 either way, quality 90) cut from those photographs. Each set is
packed with the defaults (--max-side 320, JPEG quality 90); then, in this one process with one
torch thread, every image is decoded to RGB (``load_image``) and, second, decoded and put through
the pretraining crop (RandomResizedCrop 224, (0.2, 1), bicubic). Shard timings include reading
the tars. The best of ``--rounds`` rounds is printed (a shared machine only slows runs down).
"""

import argparse
import glob
import os
import platform
import random
import time

import torch
from PIL import Image

from mae_plugin.data.image import load_image
from mae_plugin.data.pack import pack_folder
from mae_plugin.data.shards import read_members
from mae_plugin.data.transforms import MAERandomResizedCrop


def imagenet_sized(src: str, out: str, count: int) -> None:
    photos = [load_image(p) for p in sorted(glob.glob(os.path.join(src, '*.jpg')))]
    rng = random.Random(0)
    os.makedirs(out, exist_ok=True)
    for i in range(count):
        w = rng.randint(500, 800)
        size = (w, w * 3 // 4) if i % 2 else (w * 3 // 4, w)
        photos[i % len(photos)].resize(size, Image.Resampling.BICUBIC).save(
            os.path.join(out, f'{i:04d}.jpg'), quality=90
        )


def files(folder: str):
    for path in sorted(glob.glob(os.path.join(folder, '*.jpg'))):
        yield load_image(path)


def shards(folder: str):
    for path in sorted(glob.glob(os.path.join(folder, '*.tar'))):
        for raw in read_members(path, []):
            yield load_image(raw['jpg'])


def rate(images, crop: bool) -> float:
    rrc = MAERandomResizedCrop(224)
    start, n = time.perf_counter(), 0
    for image in images:
        if crop:
            rrc({'img': image})
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
        imagenet_sized(args.src, inet, args.imagenet)
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
        n = len(glob.glob(os.path.join(folder, '*.jpg')))
        mb = sum(os.path.getsize(p) for p in glob.glob(os.path.join(folder, '*.jpg'))) / 1e6
        for stage, crop in (('decode', False), ('decode+crop', True)):
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
