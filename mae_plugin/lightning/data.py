"""``MAEDataModule``: image folders or a lightly ``LightlyDataset`` through the MAE transforms.

The transforms are ``mae_plugin.data``'s, the very objects the MMEngine pipeline registers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Literal

import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.seed import pl_worker_init_function
from torch.utils.data import DataLoader, Dataset, default_collate

from ..data.folder import IMAGE_EXTENSIONS, scan_image_folder
from ..data.image import CorruptImageError
from ..data.transforms import (
    MAELoadRandomResizedCrop,
    MAEMaskGenerator,
    MAEPackInputs,
    MAERandomFlip,
)
from ..data.unreadable import join_names
from ..models import MaskedAutoencoder

_log = logging.getLogger(__name__)


class MAEImageDataset(Dataset):
    """``(path, label)`` samples through ``transforms``, an unreadable image replaced and named.

    An unreadable image is skipped (another one is drawn) and named in
    ``data_samples['skipped_files']`` (counted in ``num_skipped``), or raises with
    ``on_corrupt='error'``.

    Args:
        samples: ``(path, label)`` pairs, label -1 without a class.
        transforms: ``sample -> sample`` callables, the last one packing the sample.
        on_corrupt: 'skip' draws another image, 'error' raises.
        repeat: lists every sample that many times per epoch.
        max_refetch: draws before giving up on finding a readable image.
    """

    def __init__(
        self,
        samples: Sequence[tuple[str, int]],
        transforms: Sequence[Callable],
        on_corrupt: Literal['skip', 'error'] = 'skip',
        repeat: int = 1,
        max_refetch: int = 100,
    ) -> None:
        if on_corrupt not in ('skip', 'error'):
            raise ValueError(f"on_corrupt must be 'skip' or 'error', got {on_corrupt!r}")
        if repeat < 1:
            raise ValueError(f'repeat must be a positive integer, got {repeat}')
        self.samples = list(samples)
        self.transforms = list(transforms)
        self.on_corrupt, self.repeat, self.max_refetch = on_corrupt, repeat, max_refetch

    def __len__(self) -> int:
        return len(self.samples) * self.repeat

    def __getitem__(self, index: int) -> dict[str, Any]:
        skipped: list[str] = []  # named in the batch; the module counts distinct files
        index %= len(self.samples)
        for _ in range(self.max_refetch + 1):
            path, label = self.samples[index]
            try:
                sample: dict[str, Any] = dict(img_path=path, gt_label=label)
                for transform in self.transforms:
                    sample = transform(sample)
            except CorruptImageError as err:
                if self.on_corrupt == 'error':
                    raise
                skipped.append(err.path)
                _log.debug(f'replaced unreadable image {err.path!r} ({err.__cause__})')
                index = int(torch.randint(len(self.samples), ()))
                continue
            sample['data_samples']['num_skipped'] = len(skipped)
            sample['data_samples']['skipped_files'] = join_names(skipped)
            return sample
        raise RuntimeError(f'no decodable image after {self.max_refetch} tries')


def lightly_samples(dataset: Any) -> list[tuple[str, int]]:
    """The image files of a lightly ``LightlyDataset`` of a folder, with its labels."""
    inner = getattr(dataset, 'dataset', None)
    samples = getattr(inner, 'samples', None)
    if not isinstance(samples, list) or not all(os.path.isfile(p) for p, _ in samples[:1]):
        raise ValueError(
            'MAEDataModule reads LightlyDataset(input_dir=...) of image files; '
            f'this one wraps a {type(inner).__name__} without a file per sample '
            '(videos, or LightlyDataset.from_torch_dataset)'
        )
    return [(path, int(label)) for path, label in samples]


class MAEDataModule(pl.LightningDataModule):
    """Pretraining images of a folder, through the same transforms as the MMEngine pipeline.

    ``data_root/split`` in the ImageNet layout (``<class>/*.JPEG``, class folders optional;
    ``source='folder'``) or read by lightly's ``LightlyDataset`` (``source='lightly'``; or
    :meth:`from_lightly` with a dataset you built).

    Each image: RandomResizedCrop(``img_size``, ``crop_scale``, bicubic) -> flip(``flip_prob``)
    -> mask (``mask_ratio``, ``mask_strategy``, over ``img_size / patch_size`` patches) -> uint8
    tensor, by the ``mae_plugin.data`` transforms (the crop decodes JPEGs at reduced scale where
    it is shrunk >= 2x). Batches: ``inputs`` uint8 (B, 3, H, W),
    ``data_samples`` with ``mask`` (B, L) bool, ``label`` (B,), ``num_skipped`` (B,).
    Shuffled, last partial batch dropped; under DDP Lightning swaps in its distributed sampler.
    Loader workers (and, without workers, each rank) draw from their own seeds.

    Args:
        data_root: the dataset's root folder.
        split: the sub-folder of the training images ('' for ``data_root`` itself).
        source: 'folder' scans it, 'lightly' reads it with ``LightlyDataset``.
        img_size: crop side in pixels (the model's input size).
        patch_size: the model's patch size (the mask's grid).
        mask_ratio: share of masked patches (the model's).
        mask_strategy: 'random' (the paper's), 'block' or 'grid'.
        crop_scale: range of the crop's area over the image's.
        flip_prob: probability of a horizontal flip.
        batch_size: images per batch and process.
        num_workers: loader worker processes.
        pin_memory: None pins on a GPU only.
        persistent_workers: keep the workers between epochs (with workers only).
        repeat: list every image this many times per epoch (small folders).
        on_corrupt: 'skip' replaces an unreadable image, 'error' raises.
        extensions: file endings that count as images.
    """

    def __init__(
        self,
        data_root: str,
        split: str = 'train',
        source: Literal['folder', 'lightly'] = 'folder',
        img_size: int = 224,
        patch_size: int = 16,
        mask_ratio: float = 0.75,
        mask_strategy: Literal['random', 'block', 'grid'] = 'random',
        crop_scale: tuple[float, float] = (0.2, 1.0),
        flip_prob: float = 0.5,
        batch_size: int = 64,
        num_workers: int = 8,
        pin_memory: bool | None = None,
        persistent_workers: bool = True,
        repeat: int = 1,
        on_corrupt: Literal['skip', 'error'] = 'skip',
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
    ) -> None:
        super().__init__()
        self.data_root, self.split, self.source = data_root, split, source
        self.img_size, self.patch_size, self.mask_ratio = img_size, patch_size, mask_ratio
        self.batch_size, self.num_workers, self.repeat = batch_size, num_workers, repeat
        self.pin_memory, self.persistent_workers = pin_memory, persistent_workers
        self.on_corrupt, self.extensions = on_corrupt, tuple(extensions)
        self.transforms = [
            MAELoadRandomResizedCrop(img_size, tuple(crop_scale), interpolation='bicubic'),
            MAERandomFlip(flip_prob),
            MAEMaskGenerator(img_size, patch_size, mask_ratio, mask_strategy),
            MAEPackInputs(),
        ]
        self._lightly: Any = None
        self.train_set: MAEImageDataset | None = None

    @classmethod
    def from_lightly(cls, dataset: Any, **kwargs: Any) -> MAEDataModule:
        """The images of a ``LightlyDataset(input_dir=...)`` you built (Python API)."""
        module = cls(
            data_root=str(getattr(dataset, 'input_dir', '')), split='', source='lightly', **kwargs
        )
        module._lightly = dataset
        return module

    @property
    def folder(self) -> str:
        """``data_root/split``, or ``data_root`` without a split."""
        return os.path.join(self.data_root, self.split) if self.split else self.data_root

    def scan(self) -> list[tuple[str, int]]:
        """``(path, label)`` of every training image.

        Raises:
            FileNotFoundError: the folder is missing.
            ValueError: the folder holds no image.
        """
        if self._lightly is not None:
            return lightly_samples(self._lightly)
        if self.source == 'folder':
            samples, _ = scan_image_folder(self.folder, self.extensions, warn=_log.warning)
            return samples
        if not os.path.isdir(self.folder):
            raise FileNotFoundError(f'image folder {self.folder!r} does not exist')
        from lightly.data import LightlyDataset

        try:
            dataset = LightlyDataset(input_dir=self.folder)
        except RuntimeError as err:  # lightly: "Found 0 files in folder"
            raise ValueError(
                f'image folder {self.folder!r} holds no images lightly reads ({err})'
            ) from None
        return lightly_samples(dataset)

    def setup(self, stage: str) -> None:
        """Scan the images once; without workers, seed each rank's draws apart."""
        if self.train_set is None:
            self.train_set = MAEImageDataset(
                self.scan(), self.transforms, self.on_corrupt, self.repeat
            )
        trainer = self.trainer
        if trainer is not None and trainer.world_size > 1 and self.num_workers == 0:
            # the transforms draw from the global generators: give every rank its own
            pl_worker_init_function(0, trainer.global_rank)

    def check_model(self, mae: MaskedAutoencoder) -> None:
        """Raise a ValueError unless the model's input size, patch size and mask ratio are ours."""
        model = (mae.encoder.grid_size[0] * mae.patch_size, mae.patch_size, mae.mask_ratio)
        data = (self.img_size, self.patch_size, self.mask_ratio)
        if model != data:
            raise ValueError(
                f'data (img_size, patch_size, mask_ratio) = {data} differ from the '
                f"model's {model}: set data.img_size, data.patch_size and "
                "data.mask_ratio to the model's"
            )

    def train_dataloader(self) -> DataLoader:
        """Shuffled batches, last partial one dropped, each worker seeded for its rank."""
        if self.train_set is None:
            self.setup('fit')
        trainer = self.trainer
        on_gpu = trainer is not None and trainer.strategy.root_device.type == 'cuda'
        rank = trainer.global_rank if trainer is not None else 0
        return DataLoader(
            self.train_set,
            batch_size=self.batch_size,
            shuffle=True,
            drop_last=True,
            num_workers=self.num_workers,
            collate_fn=default_collate,
            pin_memory=on_gpu if self.pin_memory is None else self.pin_memory,
            persistent_workers=self.persistent_workers and self.num_workers > 0,
            worker_init_fn=partial(pl_worker_init_function, rank=rank),
        )
