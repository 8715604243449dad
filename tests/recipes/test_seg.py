"""The ADE20K UperNet recipe, pinned, and mmseg building the whole segmentor (skipped, naming
the install step, where mmseg is absent)."""

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from tests.helpers.paths import ROOT
from tests.helpers.recipes import assert_plugin_runner_and_safe_checkpoints, load

pytest.importorskip(
    'mmseg', reason='mmseg (with mmcv 2.1.0) is not installed: run make install-transfer'
)
import mae_plugin.seg  # noqa: E402, F401 (registers the plugin's mmseg modules)

SIZES = {'b': ('base', 768, (3, 5, 7, 11), 0.65), 'l': ('large', 1024, (7, 11, 15, 23), 0.75)}


@pytest.mark.parametrize('size', 'bl')
def test_upernet_recipe(size):
    arch, dim, out_indices, decay = SIZES[size]
    cfg = load(f'seg/upernet_vit-{size}-mae_8xb2-160k_ade20k-512x512.py')
    assert cfg.default_scope == 'mmseg' and 'mae_plugin.seg' in cfg.custom_imports.imports
    assert_plugin_runner_and_safe_checkpoints(cfg)
    model = cfg.model
    bb = model.backbone
    assert (bb.type, bb.arch, bb.img_size, tuple(bb.out_indices)) == (
        'mae_plugin.MAESegViT',
        arch,
        512,
        out_indices,
    )
    assert bb.rel_pos_bias and bb.drop_path_rate == 0.1 and bb.init_cfg.type == 'Pretrained'
    assert model.neck.type == 'Feature2Pyramid' and model.neck.rescales == [4, 2, 1, 0.5]
    assert model.neck.embed_dim == dim
    head, aux = model.decode_head, model.auxiliary_head
    assert (head.type, head.channels, head.num_classes, head.in_channels) == (
        'UPerHead',
        768,
        150,
        [dim] * 4,
    )
    assert (aux.type, aux.in_channels, aux.num_classes, aux.in_index) == ('FCNHead', dim, 150, 2)
    assert model.test_cfg == dict(mode='slide', crop_size=(512, 512), stride=(341, 341))

    wrapper = cfg.optim_wrapper
    assert wrapper.type == 'AmpOptimWrapper'
    assert wrapper.constructor == 'mae_plugin.MAELayerDecayOptimWrapperConstructor'
    assert wrapper.paramwise_cfg == dict(layer_decay_rate=decay)
    opt = wrapper.optimizer
    assert (opt.type, opt.lr, tuple(opt.betas), opt.weight_decay) == (
        'AdamW',
        1e-4,
        (0.9, 0.999),
        0.05,
    )
    warmup, poly = cfg.param_scheduler
    assert (warmup.type, warmup.begin, warmup.end, warmup.by_epoch) == ('LinearLR', 0, 1500, False)
    assert (poly.type, poly.power, poly.eta_min, poly.begin, poly.end) == (
        'PolyLR',
        1.0,
        0.0,
        1500,
        160000,
    )
    assert cfg.train_cfg.max_iters == 160000 and cfg.train_dataloader.batch_size * 8 == 16
    assert cfg.train_dataloader.dataset.type == 'mae_plugin.MAEADE20KDataset'
    assert cfg.train_dataloader.dataset.data_prefix.img_path == 'images/training'
    assert [h.type for h in cfg.custom_hooks] == [
        'mae_plugin.WeightsOnlyResumeHook',
        'mae_plugin.FiniteWeightsHook',
        'mae_plugin.ResumeScheduleGuardHook',
    ]


def test_layer_decay_groups_of_the_whole_segmentor():
    cfg = Config.fromfile(f'{ROOT}/configs/seg/upernet_vit-t-mae_demo.py')
    cfg.model.backbone.update(
        arch=dict(patch_size=8, embed_dim=48, depth=2, num_heads=3),
        out_indices=(0, 1, 1, 1),
        init_cfg=None,
    )
    cfg.model.neck.embed_dim = 48
    cfg.model.decode_head.in_channels = [48] * 4
    cfg.model.auxiliary_head.in_channels = 48
    from mmseg.registry import MODELS

    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    lr = cfg.optim_wrapper.optimizer.lr
    by_param = {id(p): g for g in wrapper.optimizer.param_groups for p in g['params']}
    for name, param in model.named_parameters():
        group = by_param[id(param)]
        if name.startswith('backbone.encoder.vit.blocks.'):
            block = int(name.split('.')[4])
            assert group['lr'] == pytest.approx(lr * 0.75 ** (2 - block)), name
        elif name.startswith('backbone.'):
            assert group['lr'] == pytest.approx(lr * 0.75**3), name  # embeddings
        else:
            assert group['lr'] == pytest.approx(lr), name  # neck and heads: the top
        no_decay = param.ndim == 1 or name.endswith(
            ('pos_embed', 'cls_token', 'relative_position_bias_table')
        )
        assert group['weight_decay'] == (0.0 if no_decay else 0.05), name
    with torch.no_grad(), DefaultScope.overwrite_default_scope('mmseg'):
        feats = model.extract_feat(torch.randn(1, 3, 64, 64))
    assert [tuple(f.shape) for f in feats] == [
        (1, 48, 32, 32),
        (1, 48, 16, 16),
        (1, 48, 8, 8),
        (1, 48, 4, 4),
    ]  # x4 x2 x1 x0.5
