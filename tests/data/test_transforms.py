"""The runner-free transforms: a plain Compose gives what the MMEngine pipeline gives (the same
transform objects), the random resized crop is bicubic with its scale, bad mask settings are
refused, and the configs' training crops keep a 16-bit or 32-bit image's contrast (header
decoder and PIL decoder: what the 8-bit twin gives, within 1 level)."""

import os

import numpy as np
import pytest
import torch
from mmengine.dataset import Compose as MMEngineCompose
from mmengine.registry import DefaultScope
from PIL import Image
from torchvision.transforms import Compose

import mae_plugin  # noqa: F401
from mae_plugin import data
from mae_plugin.data import MAEMaskGenerator
from mae_plugin.engine.registry import TRANSFORMS
from tests.helpers.data import PIPELINE
from tests.helpers.ramps import (
    LINPROBE,
    PRETRAIN,
    assert_close,
    assert_ramp,
    build_dataset,
    seeded,
)


@pytest.mark.parametrize('config', [PRETRAIN, LINPROBE], ids=['header-decoder', 'pil-decoder'])
def test_training_crops_of_the_configs_keep_the_contrast(roots, config):
    deep_root, twin_root, _ = roots
    deep, twin = (build_dataset(config, 'train_dataloader', r) for r in (deep_root, twin_root))
    for seed in range(3):
        crop = seeded(seed, deep)
        assert_close(crop, seeded(seed, twin))
        assert_ramp(crop, min_span=50)  # the smallest box keeps a quarter of the width


def test_a_plain_compose_gives_what_the_mmengine_pipeline_gives(demo_root):
    path = os.path.join(demo_root, 'train', 'chelsea.jpg')
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        mmengine_pipeline = MMEngineCompose(PIPELINE)
    plain = Compose(
        [getattr(data, t['type'])(**{k: v for k, v in t.items() if k != 'type'}) for t in PIPELINE]
    )
    outs = []
    for pipeline in (mmengine_pipeline, plain):
        torch.manual_seed(3)  # crop and flip
        np.random.seed(3)  # the random mask
        outs.append(pipeline(dict(img_path=path, gt_label=2)))
    a, b = outs
    assert a['inputs'].shape == (3, 64, 64) and a['inputs'].dtype == torch.uint8
    torch.testing.assert_close(a['inputs'], b['inputs'], rtol=0, atol=0)
    assert torch.equal(a['data_samples']['mask'], b['data_samples']['mask'])
    assert int(a['data_samples']['label']) == int(b['data_samples']['label']) == 2


def test_random_resized_crop_uses_bicubic_and_scale():
    crop = TRANSFORMS.get('MAERandomResizedCrop')(size=224)
    assert crop.scale == (0.2, 1.0) and crop.interpolation.value == 'bicubic'

    img = Image.fromarray(np.zeros((300, 400, 3), np.uint8))
    assert crop(dict(img=img))['img'].size == (224, 224)


def test_mask_generator_rejects_bad_settings():
    with pytest.raises(ValueError, match='not divisible'):
        MAEMaskGenerator(input_size=100, patch_size=16)
    with pytest.raises(ValueError, match='mask_ratio'):
        MAEMaskGenerator(mask_ratio=1.0)
    with pytest.raises(ValueError, match='strategy'):
        MAEMaskGenerator(strategy='stripes')
    for strategy in ('random', 'block', 'grid'):
        out = MAEMaskGenerator(strategy=strategy)({})
        assert int((~out['mask']).sum()) == 49
