"""Weighted k-nearest-neighbour classification of features (the InstDisc / DINO protocol)."""

from __future__ import annotations

import torch
from torch import Tensor


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
        train_features: (N, D); train_labels: (N,) int64; test_features: (M, D).

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
    """Top-1 accuracy (in %) of :func:`weighted_knn_predict`."""
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    pred = weighted_knn_predict(
        train_features, train_labels, test_features, k, temperature, num_classes
    )
    return float((pred == test_labels).float().mean() * 100)
