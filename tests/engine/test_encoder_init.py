"""The ``init_cfg`` loading of every model built on an MAE encoder (``engine/encoder_init.py``):
``dict(type='Pretrained', checkpoint=PATH)`` loads the encoder of PATH into the ViT through the
interop loader and logs its report under the model's name; no ``init_cfg`` does nothing; the
OpenMMLab spelling ``pretrained=PATH`` is that ``init_cfg``; anything else is an error naming
the model."""

import logging
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from timm.models.vision_transformer import VisionTransformer

from mae_plugin.checkpoints import from_core
from mae_plugin.engine.encoder_init import (
    init_encoder_from_cfg,
    load_pretrained_encoder,
    pretrained_as_init_cfg,
)
from tests.helpers.checkpoints import save_plugin_checkpoint
from tests.helpers.models import tiny_mae

ARCH = dict(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3)  # tiny_mae's encoder


@pytest.fixture
def mae_and_path(tmp_path):
    mae = tiny_mae(seed=0)
    return mae, save_plugin_checkpoint(mae, tmp_path / 'mae.pth')


def assert_encoder_of(vit, mae, skip=()):
    expected = mae.encoder.vit.state_dict()
    for name, value in vit.state_dict().items():
        if not name.startswith(skip):
            assert torch.equal(value, expected[name]), name


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_a_pretrained_init_cfg_loads_the_encoder_and_logs_the_report_under_the_owner(
    mae_and_path,
):
    mae, path = mae_and_path
    vit = VisionTransformer(**ARCH, num_classes=0)
    logger, log = MMLogger.get_current_instance(), _Lines()
    logger.addHandler(log)
    try:
        cfg = dict(type='Pretrained', checkpoint=path)
        report = load_pretrained_encoder('Probe', cfg, vit, (4, 4))
    finally:
        logger.removeHandler(log)
    assert_encoder_of(vit, mae)
    assert report.format == 'plugin' and report.left_new == []
    assert log.lines == [f'Probe: {report.summary()}']


def test_format_and_the_allowed_new_and_unused_keys_reach_the_loader(mae_and_path, tmp_path):
    mae, _ = mae_and_path
    path = str(tmp_path / 'timm.pth')
    torch.save(from_core(mae.state_dict(), 'timm'), path)
    cfg = dict(type='Pretrained', checkpoint=path, format='timm')
    # a classifier: head and fc_norm new, the final norm (unused under average pooling) dropped
    vit = VisionTransformer(**ARCH, num_classes=5, global_pool='avg')
    with pytest.raises(ValueError, match='head.weight'):
        load_pretrained_encoder('Cls', cfg, vit, (4, 4))
    report = load_pretrained_encoder(
        'Cls', cfg, vit, (4, 4), new_ok=('head.*', 'fc_norm.*'), unused_ok=('norm.*',)
    )
    assert report.format == 'timm'
    assert sorted(report.left_new) == ['fc_norm.bias', 'fc_norm.weight', 'head.bias', 'head.weight']
    assert_encoder_of(vit, mae, skip=('head.', 'fc_norm.', 'norm.'))
    with pytest.raises(ValueError, match=r"not in the 'official' layout \(it looks like 'timm'\)"):
        load_pretrained_encoder('Cls', {**cfg, 'format': 'official'}, vit, (4, 4))


@pytest.mark.parametrize('init_cfg', [None, {}])
def test_no_init_cfg_loads_nothing(init_cfg):
    vit = VisionTransformer(**ARCH, num_classes=0)
    before = {k: v.clone() for k, v in vit.state_dict().items()}
    assert load_pretrained_encoder('Probe', init_cfg, vit, (4, 4)) is None
    assert all(torch.equal(v, before[k]) for k, v in vit.state_dict().items())


def test_another_init_type_or_no_checkpoint_is_an_error_naming_the_owner():
    vit = VisionTransformer(**ARCH, num_classes=0)
    with pytest.raises(ValueError, match=r"Probe.init_cfg supports type='Pretrained' only.*Kaim"):
        load_pretrained_encoder('Probe', dict(type='Kaiming'), vit, (4, 4))
    with pytest.raises(ValueError, match=r"Probe: init_cfg=dict\(type='Pretrained'\) needs a"):
        load_pretrained_encoder('Probe', dict(type='Pretrained'), vit, (4, 4))


class _Backbone(BaseModule):
    pass


def test_a_model_is_marked_initialised_only_once_loaded(mae_and_path):
    mae, path = mae_and_path
    vit = VisionTransformer(**ARCH, num_classes=0)
    encoder = SimpleNamespace(vit=vit, grid_size=(4, 4), new_keys=(), unused_keys=())
    empty = _Backbone()
    init_encoder_from_cfg(empty, encoder)
    assert not empty.is_init
    model = _Backbone(init_cfg=dict(type='Pretrained', checkpoint=path))
    init_encoder_from_cfg(model, encoder)
    assert model.is_init  # MMEngine's init_weights will not run timm's init over it
    assert_encoder_of(vit, mae)


def test_pretrained_path_is_the_pretrained_init_cfg_and_both_set_is_an_error():
    cfg = dict(type='Kaiming')
    assert pretrained_as_init_cfg('B', None, cfg) is cfg
    assert pretrained_as_init_cfg('B', None, None) is None
    assert pretrained_as_init_cfg('B', 'a.pth', None) == dict(type='Pretrained', checkpoint='a.pth')
    with pytest.raises(
        ValueError,
        match=r"B: pretrained='a.pth' and init_cfg=\{'type': 'Kaiming'\} are both set; keep one!",
    ):
        pretrained_as_init_cfg('B', 'a.pth', cfg, hint='!')
    with pytest.raises(
        TypeError, match='B: pretrained must be a checkpoint path or None, got True'
    ):
        pretrained_as_init_cfg('B', True, None)
