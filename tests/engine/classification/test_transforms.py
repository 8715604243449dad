"""The classification transforms and batch augmentation: mixup/cutmix targets, random erasing
in training only, RandAugment, the evaluation resize then centre crop; the evaluation view keeps
a 16-bit or 32-bit image's contrast (what its 8-bit twin gives, within 1 level)."""

import numpy as np
import pytest
import torch
from PIL import Image

import mae_plugin  # noqa: F401
from mae_plugin.engine.classification.transforms import MAECenterCrop, MAERandAugment, MAEResize
from tests.helpers.classifier import batch, build
from tests.helpers.ramps import (
    LINPROBE,
    assert_close,
    assert_ramp,
    build_dataset,
)


def test_evaluation_view_keeps_the_contrast(roots):
    deep_root, twin_root, _ = roots
    deep, twin = (build_dataset(LINPROBE, 'val_dataloader', r) for r in (deep_root, twin_root))
    for index in range(len(deep)):
        view = deep[index]['inputs']
        assert_close(view, twin[index]['inputs'])
        assert_ramp(view)


def test_mixup_cutmix_targets_are_soft_and_sum_to_one():
    model = build(
        data_preprocessor=dict(mixup=dict(mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1))
    )
    for _ in range(4):  # both mixup and cutmix get drawn
        data = model.data_preprocessor(batch(6), training=True)
        targets = data['data_samples']['label']
        assert targets.shape == (6, 10)
        torch.testing.assert_close(targets.sum(dim=1), torch.ones(6))
        assert targets.min() >= 0.1 / 10 - 1e-6  # smoothing leaves every class its share
    evaluation = model.data_preprocessor(batch(6), training=False)
    assert evaluation['data_samples']['label'].shape == (6,)
    with pytest.raises(ValueError, match='even batch'):
        model.data_preprocessor(batch(5), training=True)


def test_random_erasing_in_training_only():
    model = build(data_preprocessor=dict(random_erasing=dict(probability=1.0, mode='pixel')))
    plain = build()
    data = batch(4)
    erased = model.data_preprocessor(
        dict(inputs=data['inputs'].clone(), data_samples=dict(data['data_samples'])), True
    )
    reference = plain.data_preprocessor(
        dict(inputs=data['inputs'].clone(), data_samples=dict(data['data_samples'])), True
    )
    assert not torch.equal(erased['inputs'], reference['inputs'])
    same = model.data_preprocessor(
        dict(inputs=data['inputs'].clone(), data_samples=dict(data['data_samples'])), False
    )
    torch.testing.assert_close(same['inputs'], reference['inputs'])


def test_rand_augment_keeps_size_and_survives_zero_bit_posterize():
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
    augment = MAERandAugment('rand-m9-mstd0.5-inc1', input_size=48)
    assert augment.augment.num_layers == 2
    for _ in range(50):
        assert augment(dict(img=image))['img'].size == (48, 40)
    # magnitude 10 asks posterize for 0 bits: black, as with Pillow < 13
    op = next(o for o in augment.augment.ops if o.name == 'PosterizeIncreasing')
    op.prob, op.magnitude, op.magnitude_std = 1.0, 10, 0
    assert np.asarray(op(image)).max() == 0


def test_evaluation_resize_then_centre_crop():
    image = Image.new('RGB', (300, 200))
    image = MAEResize(256)(dict(img=image))['img']
    assert image.size == (384, 256)  # the shorter side becomes 256
    assert MAECenterCrop(224)(dict(img=image))['img'].size == (224, 224)
