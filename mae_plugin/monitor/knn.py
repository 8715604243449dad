"""The kNN monitor, measured the same way by every runner.

Weighted k-nearest-neighbour top-1 (the InstDisc / DINO protocol) of unmasked encoder features
on a small labelled image folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..models.encoder import pool_tokens
from .views import Warn, read_labelled_split

POOLS = ('cls', 'avg')


@torch.no_grad()
def weighted_knn_predict(
    train_features: Tensor,
    train_labels: Tensor,
    test_features: Tensor,
    k: int = 20,
    temperature: float = 0.07,
    num_classes: int | None = None,
    chunk: int = 256,
) -> Tensor:
    """Predicted class of every test feature.

    Cosine similarity to all training features; the ``k`` most similar vote for their class
    with weight ``exp(similarity / temperature)``; the class with the largest sum wins.

    Args:
        train_features: (N, D) features of the neighbours.
        train_labels: (N,) int64 labels of the neighbours.
        test_features: (M, D) features to classify.
        k: neighbours that vote (at most N).
        temperature: softness of the vote weights.
        num_classes: length of the vote vector; None: the largest training label + 1.
        chunk: test features compared at once (bounds the (chunk, N) similarity matrix).

    Returns:
        (M,) int64 predictions.
    """
    train = torch.nn.functional.normalize(train_features.float(), dim=1)
    test = torch.nn.functional.normalize(test_features.float(), dim=1)
    num_classes = num_classes or int(train_labels.max()) + 1
    k = min(k, train.shape[0])
    predictions = []
    for start in range(0, test.shape[0], chunk):
        similarity = test[start : start + chunk] @ train.T  # (m, N)
        top_sim, top_idx = similarity.topk(k, dim=1)
        votes = torch.zeros(top_sim.shape[0], num_classes, dtype=torch.float32, device=train.device)
        votes.scatter_add_(1, train_labels[top_idx], (top_sim / temperature).exp())
        predictions.append(votes.argmax(dim=1))
    return torch.cat(predictions)


def weighted_knn_top1(
    train_features: Tensor,
    train_labels: Tensor,
    test_features: Tensor,
    test_labels: Tensor,
    k: int = 20,
    temperature: float = 0.07,
) -> float:
    """Top-1 accuracy in % of :func:`weighted_knn_predict`.

    Args:
        train_features: (N, D) features of the neighbours.
        train_labels: (N,) int64 labels of the neighbours.
        test_features: (M, D) features to classify.
        test_labels: (M,) int64 true labels of ``test_features``.
        k: neighbours that vote.
        temperature: softness of the vote weights.

    Returns:
        The share of the M test features predicted right, in %.
    """
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    pred = weighted_knn_predict(
        train_features, train_labels, test_features, k, temperature, num_classes
    )
    return float((pred == test_labels).float().mean() * 100)


class KNNProbe:
    """Weighted kNN top-1 of an encoder's pooled features on a labelled folder.

    ``data_root/<train_prefix>/<class>/*`` are the neighbours, ``data_root/<val_prefix>/<class>/*``
    are scored (resized + centre-cropped to the encoder's input, read once per input size).
    Validation labels follow the training split's class list (a class only the validation split
    has is an error). The runners' monitors (``KNNMonitorHook``, ``KNNMonitor``) decide when to
    measure and where to log; the measurement is this class's alone.

    Args:
        data_root: folder holding the two splits.
        k: neighbours that vote.
        temperature: softness of the vote weights.
        pool: 'cls' (the cls token) or 'avg' (the mean of the patch tokens).
        batch_size: images per encoder forward.
        train_prefix: sub-folder of the neighbours.
        val_prefix: sub-folder of the scored images.
        warn: told once per split which files were unreadable and left out.
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
        warn: Warn | None = None,
    ) -> None:
        if pool not in POOLS:
            raise ValueError(f'pool must be one of {POOLS}, got {pool!r}')
        self.data_root, self.k, self.temperature, self.pool = data_root, k, temperature, pool
        self.batch_size, self.prefixes, self.warn = batch_size, (train_prefix, val_prefix), warn
        self._splits: dict[int, tuple[Tensor, Tensor, Tensor, Tensor]] = {}

    def describe(self) -> str:
        """What is measured, for a log line."""
        return f'kNN top-1 (k={self.k}, T={self.temperature}, {self.pool}) on {self.data_root!r}'

    def splits(self, size: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The two splits at ``size`` px, read on first use.

        Returns:
            train images uint8 (N, 3, size, size), train labels (N,), val images uint8
            (M, 3, size, size), val labels (M,).
        """
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
        """Pooled features of ``images``, ``batch_size`` at a time.

        Args:
            encode: a normalised batch -> its (B, 1 + L, D) tokens (an encoder).
            normalize: a uint8 batch -> the encoder's normalised input, on its device.
            images: (N, 3, H, W) uint8.

        Returns:
            (N, D) float features on the CPU.
        """
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
        """Top-1 in % of ``encoder``, measured in eval mode (its mode restored after).

        Args:
            encoder: a ``MaskedViTEncoder`` (its grid and patch size give the input size).
            normalize: a uint8 batch -> the encoder's normalised input, on its device.
            encode: replaces ``encoder``'s own call (a sharded model's root, which gathers its
                weights); None: ``encoder``.

        Returns:
            Weighted kNN top-1 of the validation split in %.
        """
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
