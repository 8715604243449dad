"""MAEAccuracy: top-k against a direct count; unreadable samples are dropped from the accuracy
and said so, and a substitute in an evaluation batch is an error."""

import pytest
import torch

import mae_plugin  # noqa: F401
from mae_plugin.engine.classification.metric import MAEAccuracy


def test_accuracy_topk_against_direct_count():
    torch.manual_seed(0)
    scores = torch.randn(50, 8).softmax(dim=1)
    labels = torch.randint(0, 8, (50,))
    metric = MAEAccuracy(topk=(1, 5))
    metric.process(
        None, [dict(pred_score=s, gt_label=int(g)) for s, g in zip(scores, labels, strict=True)]
    )
    result = metric.compute_metrics(metric.results)
    top5 = scores.topk(5, dim=1).indices
    assert result['top1'] == pytest.approx(100 * (scores.argmax(1) == labels).float().mean())
    assert result['top5'] == pytest.approx(
        100 * (top5 == labels[:, None]).any(dim=1).float().mean()
    )


def test_the_metric_drops_unreadable_samples_and_says_so():
    metric = MAEAccuracy(topk=(1,))
    good = dict(pred_score=torch.tensor([0.9, 0.1]), gt_label=0, unreadable='')
    wrong = dict(pred_score=torch.tensor([0.9, 0.1]), gt_label=1, unreadable='')
    dropped = dict(pred_score=torch.tensor([0.1, 0.9]), gt_label=0, unreadable='/x/bad.jpg')
    metric.process({}, [good, wrong, dropped, good])
    result = metric.compute_metrics(metric.results)
    assert result == {'top1': pytest.approx(100 * 2 / 3), 'unreadable': 1}
    assert 'over 3 of 4 images, 1 unreadable' in metric.summary
    assert '/x/bad.jpg' in metric.summary


def test_a_substitute_in_an_evaluation_batch_is_an_error():
    """A dataset that replaced an unreadable image (a training dataset used for evaluation)."""
    metric = MAEAccuracy(topk=(1,))
    replaced = dict(num_skipped=torch.tensor([0, 1]), skipped_files=['', '/x/b.jpg'])
    batch = dict(data_samples=replaced)
    preds = [dict(pred_score=torch.tensor([0.9, 0.1]), gt_label=0)] * 2
    with pytest.raises(RuntimeError, match=r"replaced unreadable image\(s\) '/x/b.jpg'"):
        metric.process(batch, preds)
    metric.process(dict(data_samples=dict(num_skipped=torch.tensor([0, 0]))), preds)
    assert metric.compute_metrics(metric.results) == {'top1': 100.0}
