"""Top-k accuracy for MMEngine's evaluator (the paper reports top-1; top-5 is customary)."""
from __future__ import annotations

from typing import Any, Sequence

import torch
from mmengine.evaluator import BaseMetric

from ..registry import METRICS


@METRICS.register_module()
class MAEAccuracy(BaseMetric):
    """Top-k accuracy in percent, logged as ``accuracy/top1``, ``accuracy/top5``.

    Consumes the classifier's predictions: dicts with ``pred_score`` (num_classes,) and
    ``gt_label`` (int). Each k larger than the number of classes counts every sample correct.
    """

    default_prefix = 'accuracy'

    def __init__(self, topk: Sequence[int] = (1, 5), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not topk or min(topk) < 1:
            raise ValueError(f'topk must be positive integers, got {topk!r}')
        self.topk = tuple(topk)

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        scores = torch.stack([s['pred_score'] for s in data_samples]).cpu()  # (B, C)
        labels = torch.tensor([s['gt_label'] for s in data_samples])  # (B,)
        maxk = min(max(self.topk), scores.shape[1])
        hits = scores.topk(maxk, dim=1).indices == labels[:, None]  # (B, maxk)
        for row in hits:
            self.results.append([bool(row[:k].any()) for k in self.topk])

    def compute_metrics(self, results: list) -> dict[str, float]:
        correct = torch.tensor(results, dtype=torch.float64)  # (N, len(topk))
        return {f'top{k}': 100.0 * correct[:, i].mean().item() for i, k in enumerate(self.topk)}
