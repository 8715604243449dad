"""Top-k accuracy for MMEngine's evaluator (the paper reports top-1; top-5 is customary)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from ...data.unreadable import batch_names, listing
from ..registry import METRICS


@METRICS.register_module()
class MAEAccuracy(BaseMetric):
    """Top-k accuracy in percent, logged as ``accuracy/top1``, ``accuracy/top5``.

    Consumes the classifier's predictions: dicts with ``pred_score`` (num_classes,), ``gt_label``
    (int) and ``unreadable`` (the path of an image the dataset could not read, else ''). Each k
    larger than the number of classes counts every sample correct.

    Unreadable images are left out of the accuracy, counted (``accuracy/unreadable``) and named
    in the log: "accuracy over 80 of 81 images, 1 unreadable: '...'". Every sample keeps one
    result, so that MMEngine's gathering over ranks (which interleaves the ranks' results and
    cuts the sampler's padding at the dataset's length) counts each file once. A batch whose
    dataset replaced an unreadable image by another (``skipped_files``/``num_skipped``, what a
    training dataset does) is an error: an evaluation never scores a substitute.

    Args:
        topk: the k of each accuracy, all >= 1.
        **kwargs: ``BaseMetric``'s (``collect_device``, ``prefix``).
    """

    default_prefix = 'accuracy'

    def __init__(self, topk: Sequence[int] = (1, 5), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not topk or min(topk) < 1:
            raise ValueError(f'topk must be positive integers, got {topk!r}')
        self.topk = tuple(topk)
        self.summary = ''  # what the last compute_metrics scored, as logged

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Keep, per sample, whether each top-k holds the label, and its unreadable path.

        Raises:
            RuntimeError: the dataset replaced an unreadable image of this batch.
        """
        refuse_substitutes(data_batch)
        scores = torch.stack([s['pred_score'] for s in data_samples]).cpu()  # (B, C)
        labels = torch.tensor([s['gt_label'] for s in data_samples])  # (B,)
        maxk = min(max(self.topk), scores.shape[1])
        hits = scores.topk(maxk, dim=1).indices == labels[:, None]  # (B, maxk)
        for row, sample in zip(hits, data_samples, strict=True):
            self.results.append(
                ([bool(row[:k].any()) for k in self.topk], sample.get('unreadable', ''))
            )

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Top-k in % over the readable images, and the unreadable count when there are any.

        Raises:
            ValueError: every image was unreadable.
        """
        dropped = [path for _, path in results if path]
        scored = [hits for hits, path in results if not path]
        if not scored:
            raise ValueError(
                f'no image to score: all {len(results)} are unreadable ({listing(dropped)})'
            )
        correct = torch.tensor(scored, dtype=torch.float64)  # (N, len(topk))
        metrics: dict[str, float] = {
            f'top{k}': 100.0 * correct[:, i].mean().item() for i, k in enumerate(self.topk)
        }
        self.summary = f'accuracy over {len(scored)} of {len(results)} images'
        if dropped:
            self.summary += f', {len(dropped)} unreadable: {listing(dropped)}'
            metrics['unreadable'] = len(dropped)
            print_log(self.summary, logger='current', level=logging.WARNING)
        return metrics


def refuse_substitutes(data_batch: Any) -> None:
    """Raise if the dataset replaced an unreadable image of this batch by another one."""
    samples = data_batch.get('data_samples') if isinstance(data_batch, dict) else None
    if not isinstance(samples, dict):
        return
    names = sorted(batch_names(samples.get('skipped_files', ())))
    replaced = samples.get('num_skipped')
    if names or (replaced is not None and int(torch.as_tensor(replaced).sum()) > 0):
        raise RuntimeError(
            f'the evaluation dataset replaced unreadable image(s) {listing(names)} by other '
            'images; an evaluation never scores a substitute: build the val/test dataset with '
            "test_mode=True (MAEImageFolder then stops naming the file, or with on_corrupt='skip' "
            'leaves it out of the metric and counts it)'
        )
