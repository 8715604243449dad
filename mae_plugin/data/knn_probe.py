"""The kNN monitor's measurement, shared by every runner: weighted kNN top-1 of unmasked
encoder features on a small labelled image folder."""

from __future__ import annotations

import os
from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..models.encoder import pool_tokens
from ..models.knn import weighted_knn_top1
from .labelled import read_labelled_split

POOLS = ('cls', 'avg')


class KNNProbe:
    """Weighted kNN top-1 (cosine similarity, ``k`` neighbours, ``temperature``) of an encoder's
    pooled features: ``data_root/<train_prefix>/<class>/*`` are the neighbours,
    ``data_root/<val_prefix>/<class>/*`` are scored (resized + centre-cropped to the encoder's
    input, read once). Validation labels follow the training split's class list (a class only
    the validation split has is an error).
    """

    def __init__(
        self,
        data_root: str,
        k: int = 20,
        temperature: float = 0.07,
        pool: str = 'cls',
        batch_size: int = 64,
        train_prefix: str = 'train',
        val_prefix: str = 'val',
        warn: Callable[[str], None] | None = None,
    ) -> None:
        if pool not in POOLS:
            raise ValueError(f'pool must be one of {POOLS}, got {pool!r}')
        self.data_root, self.k, self.temperature, self.pool = data_root, k, temperature, pool
        self.batch_size, self.prefixes, self.warn = batch_size, (train_prefix, val_prefix), warn
        self._splits: dict[int, tuple[Tensor, Tensor, Tensor, Tensor]] = {}

    def describe(self) -> str:
        return f'kNN top-1 (k={self.k}, T={self.temperature}, {self.pool}) on {self.data_root!r}'

    def splits(self, size: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(train images uint8 (N, 3, size, size), train labels (N,), val images (M, ...),
        val labels (M,)), read on first use."""
        if size not in self._splits:
            train, val = (os.path.join(self.data_root, p) for p in self.prefixes)
            train_x, train_y, classes = read_labelled_split(train, size, warn=self.warn)
            val_x, val_y, _ = read_labelled_split(val, size, classes, warn=self.warn)
            self._splits[size] = (train_x, train_y, val_x, val_y)
        return self._splits[size]

    @torch.no_grad()
    def features(
        self,
        encode: Callable[[Tensor], Tensor],
        normalize: Callable[[Tensor], Tensor],
        images: Tensor,
    ) -> Tensor:
        """(N, D) float CPU features of uint8 ``images`` (N, 3, H, W); ``normalize`` maps a
        uint8 batch to the encoder's normalised input on its device, ``encode`` (an encoder) a
        normalised batch to its (B, 1 + L, D) tokens."""
        feats = [
            pool_tokens(encode(normalize(images[i : i + self.batch_size])), self.pool)
            for i in range(0, len(images), self.batch_size)
        ]
        return torch.cat(feats).float().cpu()

    def evaluate(
        self,
        encoder: nn.Module,
        normalize: Callable[[Tensor], Tensor],
        encode: Callable[[Tensor], Tensor] | None = None,
    ) -> float:
        """Top-1 in % of ``encoder`` (a MaskedViTEncoder), measured in eval mode; ``encode``
        replaces ``encoder``'s own call (a sharded model's root, which gathers its weights)."""
        encode = encode or encoder
        size = encoder.grid_size[0] * encoder.patch_size
        train_x, train_y, val_x, val_y = self.splits(size)
        was_training = encoder.training
        encoder.eval()
        try:
            return weighted_knn_top1(
                self.features(encode, normalize, train_x),
                train_y,
                self.features(encode, normalize, val_x),
                val_y,
                self.k,
                self.temperature,
            )
        finally:
            encoder.train(was_training)
