"""The tiny classifier of the classification tests (the tiny MAE's encoder, 10 classes, 32 px)
and a batch of random images for it."""

import torch
from mmengine.registry import DefaultScope

import mae_plugin  # noqa: F401  (registers MAEClassifier)
from mae_plugin.engine.registry import MODELS

TINY = dict(
    arch=dict(patch_size=8, embed_dim=48, depth=2, num_heads=3), num_classes=10, img_size=32
)


def build(**kw):
    """An ``MAEClassifier`` of ``TINY`` updated with ``kw``, built through the registry, seeded."""
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        return MODELS.build(dict(type='MAEClassifier', **{**TINY, **kw}))


def batch(n=4, labels=None):
    """A data-preprocessor input: ``n`` uint8 images (n, 3, 32, 32) and their labels (n,),
    ``0, 1, ...`` unless ``labels`` is given."""
    inputs = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(n) % 10 if labels is None else torch.tensor(labels)
    return dict(inputs=inputs, data_samples=dict(label=labels))
