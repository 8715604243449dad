"""The ViTDet COCO recipe, pinned, and mmdet building the whole detector (skipped, naming the
install step, where mmdet is absent)."""

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from tests.helpers.paths import ROOT
from tests.helpers.recipes import assert_plugin_runner_and_safe_checkpoints, load

pytest.importorskip(
    'mmdet', reason='mmdet (with mmcv 2.1.0) is not installed: run make install-transfer'
)
import mae_plugin.det  # noqa: E402, F401 (registers the plugin's mmdet modules)

# size: (arch, drop path, layer decay, neck input)
SIZES = {
    'b': ('base', 0.1, 0.7, 768),
    'l': ('large', 0.4, 0.8, 1024),
    'h': (dict(patch_size=16, embed_dim=1280, depth=32, num_heads=16), 0.5, 0.9, 1280),
}


@pytest.mark.parametrize('size', 'blh')
def test_mask_rcnn_vitdet_recipe(size):
    arch, drop_path, decay, width = SIZES[size]
    cfg = load(f'det/mask-rcnn_vit-{size}-mae_simplefpn_lsj-100e_coco.py')
    assert cfg.default_scope == 'mmdet' and 'mae_plugin.det' in cfg.custom_imports.imports
    assert_plugin_runner_and_safe_checkpoints(cfg)
    bb = cfg.model.backbone
    assert (bb.type, bb.arch, bb.img_size, bb.window_size, bb.drop_path_rate) == (
        'mae_plugin.MAEViTDet',
        arch,
        1024,
        14,
        drop_path,
    )
    assert bb.init_cfg.type == 'Pretrained'
    neck = cfg.model.neck
    assert (neck.type, neck.in_channels, neck.out_channels, neck.num_outs) == (
        'mae_plugin.MAESimpleFPN',
        width,
        256,
        5,
    )
    assert neck.get('in_stride', 16) == 16
    assert cfg.model.rpn_head.num_convs == 2
    box, mask = cfg.model.roi_head.bbox_head, cfg.model.roi_head.mask_head
    assert box.type == 'Shared4Conv1FCBBoxHead' and box.norm_cfg.type == 'mae_plugin.LN2d'
    assert mask.num_convs == 4 and mask.norm_cfg.type == 'mae_plugin.LN2d'
    pad = cfg.model.data_preprocessor.batch_augments[0]
    assert (pad.type, tuple(pad.size)) == ('BatchFixedSizePad', (1024, 1024))

    train = cfg.train_dataloader.dataset.dataset.pipeline
    jitter = next(t for t in train if t.type == 'RandomResize')
    crop = next(t for t in train if t.type == 'RandomCrop')
    assert (tuple(jitter.scale), tuple(jitter.ratio_range)) == ((1024, 1024), (0.1, 2.0))
    assert tuple(crop.crop_size) == (1024, 1024)
    assert cfg.train_dataloader.batch_size * 8 == 64
    assert cfg.train_dataloader.dataset.dataset.type == 'mae_plugin.MAECocoDataset'
    assert cfg.val_evaluator.type == 'CocoMetric' and cfg.val_evaluator.metric == ['bbox', 'segm']

    wrapper = cfg.optim_wrapper
    assert wrapper.type == 'AmpOptimWrapper'
    assert wrapper.constructor == 'mae_plugin.MAELayerDecayOptimWrapperConstructor'
    assert wrapper.paramwise_cfg == dict(layer_decay_rate=decay)
    opt = wrapper.optimizer
    assert (opt.type, opt.lr, tuple(opt.betas), opt.weight_decay) == (
        'AdamW',
        1e-4,
        (0.9, 0.999),
        0.1,
    )
    warmup, steps = cfg.param_scheduler
    assert (warmup.type, warmup.end, warmup.by_epoch) == ('LinearLR', 250, False)
    assert (steps.type, steps.milestones, steps.gamma) == ('MultiStepLR', [163889, 177546], 0.1)
    assert cfg.train_cfg.type == 'IterBasedTrainLoop' and cfg.train_cfg.max_iters == 184375
    assert [h.type for h in cfg.custom_hooks] == [
        'mae_plugin.WeightsOnlyResumeHook',
        'mae_plugin.FiniteWeightsHook',
        'mae_plugin.ResumeScheduleGuardHook',
    ]


def test_cascade_variant_has_three_ln_box_heads():
    cfg = load('det/cascade-mask-rcnn_vit-b-mae_simplefpn_lsj-100e_coco.py')
    heads = cfg.model.roi_head.bbox_head
    assert len(heads) == 3 and all(h.type == 'Shared4Conv1FCBBoxHead' for h in heads)
    assert all(h.norm_cfg.type == 'mae_plugin.LN2d' for h in heads)
    assert cfg.model.backbone.type == 'mae_plugin.MAEViTDet'


def test_layer_decay_groups_of_the_whole_detector():
    cfg = Config.fromfile(f'{ROOT}/configs/det/mask-rcnn_vit-t-mae_demo.py')
    cfg.model.backbone.update(
        arch=dict(patch_size=8, embed_dim=48, depth=2, num_heads=3),
        global_blocks=(1,),
        init_cfg=None,
    )
    cfg.model.neck.in_channels = 48
    from mmdet.registry import MODELS

    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    lr = cfg.optim_wrapper.optimizer.lr
    by_param = {id(p): g for g in wrapper.optimizer.param_groups for p in g['params']}
    for name, param in model.named_parameters():
        group = by_param[id(param)]
        if name.startswith('backbone.encoder.vit.blocks.'):
            block = int(name.split('.')[4])
            assert group['lr'] == pytest.approx(lr * 0.8 ** (2 - block)), name
        elif name.startswith('backbone.'):
            assert group['lr'] == pytest.approx(lr * 0.8**3), name
        else:
            assert group['lr'] == pytest.approx(lr), name  # neck, RPN, RoI heads: the top
        no_decay = param.ndim == 1 or name.endswith(('pos_embed', 'rel_pos_h', 'rel_pos_w'))
        assert group['weight_decay'] == (0.0 if no_decay else 0.1), name
    with torch.no_grad():
        feats = model.extract_feat(torch.randn(1, 3, 128, 128))
    assert [tuple(f.shape[-2:]) for f in feats] == [(32, 32), (16, 16), (8, 8), (4, 4), (2, 2)]
