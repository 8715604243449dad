"""The runner-free data layer: the same transform objects under MMEngine and a plain Compose."""

import os

import numpy as np
import torch
from mmengine.dataset import Compose as MMEngineCompose
from mmengine.registry import DefaultScope
from torchvision.transforms import Compose

import mae_plugin  # noqa: F401
from mae_plugin import data
from mae_plugin.engine.registry import TRANSFORMS
from tests.helpers.data import PIPELINE


def test_registered_transforms_are_the_data_classes():
    for name in (
        'MAELoadImage',
        'MAELoadRandomResizedCrop',
        'MAERandomResizedCrop',
        'MAERandomFlip',
        'MAEMaskGenerator',
        'MAEPackInputs',
    ):
        assert TRANSFORMS.get(name) is getattr(data, name)


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


def test_the_scan_reports_empty_classes_through_the_given_callback(tmp_path, demo_root):
    (tmp_path / 'a').mkdir()
    (tmp_path / 'b').mkdir()
    (tmp_path / 'a' / 'x.jpg').write_bytes(
        open(os.path.join(demo_root, 'train', 'moon.jpg'), 'rb').read()
    )
    said = []
    samples, classes = data.scan_image_folder(str(tmp_path), warn=said.append)
    assert classes == ['a', 'b'] and [label for _, label in samples] == [0]
    assert len(said) == 1 and "['b'] hold no images" in said[0]
