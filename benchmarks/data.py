"""Data-pipeline throughput per core: the config's training pipeline against the official
torchvision pipeline of MAE pretraining, and the JPEG decoders alone.

Both pipelines read the same ImageNet-like JPEGs (500x375 to 800x600, quality 90), made from the
demo photographs, in one process with one thread; rounds are interleaved and the best round is
reported (noise only slows a run down; every round is printed).
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from collections.abc import Callable

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import DefaultScope
from PIL import Image
from torchvision import transforms
from torchvision.io import ImageReadMode, decode_jpeg

import mae_plugin  # noqa: F401  (registers the transforms)
from tools.demo_data import demo_arrays

from .machine import machine_line

IMAGENET_LIKE_WIDTHS = (500, 800)  # 4:3 landscape, as most ImageNet photographs
JPEG_QUALITY = 90


def write_imagenet_like_jpegs(folder: str, count: int, seed: int = 0) -> list[str]:
    """``count`` JPEGs of random 4:3 crops of the demo photographs, resized to widths 500-800
    (heights 375-600), quality 90, under ``folder/<photo>/``; returns their paths."""
    rng = np.random.default_rng(seed)
    photos = sorted(demo_arrays().items())
    paths = []
    for index in range(count):
        name, array = photos[index % len(photos)]
        height, width = array.shape[:2]
        crop_w = int(
            rng.integers(min(width, height * 4 // 3) // 2, min(width, height * 4 // 3) + 1)
        )
        crop_h = crop_w * 3 // 4
        top = int(rng.integers(0, height - crop_h + 1))
        left = int(rng.integers(0, width - crop_w + 1))
        out_w = int(rng.integers(IMAGENET_LIKE_WIDTHS[0], IMAGENET_LIKE_WIDTHS[1] + 1))
        image = Image.fromarray(array[top : top + crop_h, left : left + crop_w])
        image = image.resize((out_w, out_w * 3 // 4), Image.Resampling.BICUBIC)
        os.makedirs(os.path.join(folder, name), exist_ok=True)
        paths.append(os.path.join(folder, name, f'{index:05d}.JPEG'))
        image.save(paths[-1], quality=JPEG_QUALITY)
    return paths


def official_pipeline() -> Callable[[str], torch.Tensor]:
    """facebookresearch/mae main_pretrain.py's transform_train on torchvision ImageFolder's
    PIL loader: path -> normalised float (3, 224, 224)."""
    transform = transforms.Compose(
        [
            transforms.RandomResizedCrop(224, scale=(0.2, 1.0), interpolation=3),  # 3 = bicubic
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
        ]
    )

    def run(path: str) -> torch.Tensor:
        with open(path, 'rb') as f:  # torchvision.datasets.folder.pil_loader
            image = Image.open(f).convert('RGB')
        return transform(image)

    return run


def configured_pipeline(config: str) -> Callable[[str], dict]:
    """The training pipeline of ``config``, built through MMEngine's TRANSFORMS: path -> the
    packed sample."""
    cfg = Config.fromfile(config)
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
    return lambda path: pipeline(dict(img_path=path, gt_label=0))


def decoders() -> dict[str, Callable[[bytes], object]]:
    """JPEG bytes -> decoded image, by each decoder measured: PIL in full and at reduced scale
    (draft), torchvision's libjpeg-turbo binding, and simplejpeg where it is installed."""

    def pil_draft(scale: int) -> Callable[[bytes], object]:
        def decode(data: bytes) -> object:
            image = Image.open(io.BytesIO(data))
            image.draft('RGB', (image.width // scale, image.height // scale))
            image.load()
            return image

        return decode

    def pil_full(data: bytes) -> object:
        image = Image.open(io.BytesIO(data))
        image.load()
        return image

    found = {
        'PIL full': pil_full,
        'PIL draft 1/2': pil_draft(2),
        'PIL draft 1/4': pil_draft(4),
        'torchvision decode_jpeg': lambda data: decode_jpeg(
            torch.frombuffer(bytearray(data), dtype=torch.uint8), ImageReadMode.RGB
        ),
    }
    try:
        import simplejpeg
    except ImportError:
        return found
    found['simplejpeg'] = lambda data: simplejpeg.decode_jpeg(data)
    return found


def _rate(run: Callable, items: list, seed: int) -> float:
    torch.manual_seed(seed)
    np.random.seed(seed)
    start = time.perf_counter()
    for item in items:
        run(item)
    return len(items) / (time.perf_counter() - start)


def compare_pipelines(
    config: str, images: int = 256, rounds: int = 3, folder: str | None = None
) -> dict[str, float]:
    """Print and return the best img/s per core of each pipeline and decoder over ``rounds``
    interleaved rounds on ``images`` generated JPEGs (written to ``folder``, default a
    temporary folder that is removed afterwards)."""
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_imagenet_like_jpegs(folder or tmp, images)
        encoded = []
        for path in paths:
            with open(path, 'rb') as f:
                encoded.append(f.read())
        pipelines = {'configured': configured_pipeline(config), 'official': official_pipeline()}
        runs: dict[str, list[float]] = {}
        print(
            f'{machine_line("cpu", 1)}; {images} JPEGs 500x375-800x600 q{JPEG_QUALITY}, 1 process',
            flush=True,
        )
        for round_idx in range(rounds):
            for name, run in pipelines.items():
                runs.setdefault(name, []).append(_rate(run, paths, seed=round_idx))
            for name, decode in decoders().items():
                runs.setdefault(name, []).append(_rate(decode, encoded, seed=round_idx))
            said = ', '.join(f'{name} {rates[-1]:.0f}' for name, rates in runs.items())
            print(f'  round {round_idx + 1} img/s: {said}', flush=True)
    best = {name: max(rates) for name, rates in runs.items()}
    print(f'{"pipeline / decoder (per core)":<32}{"img/s":>9}{"vs official":>13}')
    for name, rate in best.items():
        print(f'{name:<32}{rate:>9.0f}{rate / best["official"]:>12.2f}x')
    print(
        f'configured = {config} train pipeline (uint8, normalised later on the device); '
        'official = RandomResizedCrop(224, (0.2, 1), bicubic) + flip + ToTensor + Normalize '
        'on PIL loading; decoders: the decode alone, from bytes in memory'
    )
    return best
