"""The backbone in a user's own mmseg config, as docs/segmentation.md shows it: a config file in
the user's folder on mmsegmentation's own MAE config (``mmseg::``), the page's
``custom_imports`` and backbone lines, the demo set and the tiny demo sizes, run by MMEngine's
``Runner`` itself."""

import glob
import os
import uuid

import pytest
import torch

from tools.demo_data import prepare_seg_split

MMSEG_MAE = 'mmseg::mae/mae-base_upernet_8xb2-amp-160k_ade20k-512x512.py'

# The lines of docs/segmentation.md (section "In your own mmseg config"), at the demo's sizes;
# ``{model_extra}`` takes the page's ``pretrained=None``: mmseg's MAE config sets a model-level
# ``pretrained`` that mmseg's EncoderDecoder hands to the backbone.
USER_CONFIG = """
_base_ = ['{base}']
custom_imports = dict(imports=['mae_plugin.seg'], allow_failed_imports=False)
model = dict({model_extra}
    backbone=dict(
        _delete_=True,
        type='mae_plugin.MAESegViT',
        arch=dict(patch_size=8, embed_dim=48, depth=2, num_heads=3),
        img_size=64,
        out_indices=(0, 1, 1, 1),
        layer_scale_init=1.0,{backbone_extra}
    ),
    # the demo config's sizes
    data_preprocessor=dict(size=(64, 64)),
    neck=dict(embed_dim=48),
    decode_head=dict(in_channels=[48, 48, 48, 48], channels=64),
    auxiliary_head=dict(in_channels=48, channels=32),
    test_cfg=dict(mode='whole'),
)
# mmseg's LayerDecayOptimizerConstructor finds no layers in the plugin's backbone
optim_wrapper = dict(
    constructor='mae_plugin.MAELayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(_delete_=True, layer_decay_rate=0.65),
)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(256, 64), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(64, 64), cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, 61), keep_ratio=True),  # 61 x 81: off the 8-px patch grid
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root='{data_root}', pipeline=train_pipeline),
)
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root='{data_root}', pipeline=test_pipeline),
)
test_dataloader = val_dataloader
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2))
"""

INIT_CFG = "\n        init_cfg=dict(type='Pretrained', checkpoint='{checkpoint}'),"


@pytest.fixture(scope='module')
def seg_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('ade'))
    prepare_seg_split(root, short_side=64)
    return os.path.join(root, 'seg')


def user_cfg(tmp_path, seg_root, model_extra='', backbone_extra=''):
    """The user's config file in a folder of theirs (outside the repository), loaded as the
    Runner's users load it."""
    from mmengine.config import Config

    folder = tmp_path / 'my_project'
    folder.mkdir(exist_ok=True)
    path = folder / 'my_upernet_mae.py'
    path.write_text(
        USER_CONFIG.format(
            base=MMSEG_MAE,
            data_root=seg_root,
            model_extra=model_extra,
            backbone_extra=backbone_extra,
        )
    )
    cfg = Config.fromfile(str(path))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = f'user_{uuid.uuid4().hex[:8]}'
    return cfg


def runner_log(runner):
    return ''.join(open(f).read() for f in glob.glob(os.path.join(runner.log_dir, '*.log')))


@pytest.mark.slow
def test_readme_backbone_trains_from_the_checkpoint_and_infers_off_the_patch_grid(
    tmp_path, seg_root, pretrained_64
):
    from mmengine.runner import Runner

    path, mae = pretrained_64
    cfg = user_cfg(
        tmp_path,
        seg_root,
        model_extra='\n    pretrained=None,',
        backbone_extra=INIT_CFG.format(checkpoint=path),
    )
    runner = Runner.from_cfg(cfg)
    runner.train()  # 2 iterations, then whole-image validation on 61 x 81 images
    log = runner_log(runner)
    assert 'MAESegViT: loaded 28 tensors' in log and '(plugin format)' in log
    assert 'Iter(train) [2/2]' in log
    assert 0.0 <= runner.message_hub.get_scalar('val/mIoU').current() <= 100.0
    vit = runner.model.backbone.encoder.vit
    assert not torch.equal(vit.blocks[0].attn.qkv.weight, mae.encoder.vit.blocks[0].attn.qkv.weight)
    # layer decay: block 0 trains at 0.65 x block 1's lr
    lr_of = {
        id(p): g['lr'] for g in runner.optim_wrapper.optimizer.param_groups for p in g['params']
    }
    block0, block1 = (lr_of[id(vit.blocks[i].attn.qkv.weight)] for i in (0, 1))
    assert block0 == pytest.approx(0.65 * block1)

    batch = next(iter(runner.val_dataloader))
    height, width = batch['inputs'][0].shape[-2:]
    assert (height % 8, width % 8) != (0, 0)  # the input is off the patch grid
    runner.model.eval()
    with torch.no_grad():
        (result,) = runner.model.test_step(batch)
    # the head's map of the padded grid is resized to the input, then to the original image
    assert tuple(result.img_shape) == (height, width)
    assert tuple(result.pred_sem_seg.shape[-2:]) == tuple(result.ori_shape)


def test_readme_lines_on_mmseg_mae_config_name_both_checkpoints(tmp_path, seg_root, pretrained_64):
    """The backbone lines of docs/segmentation.md without their ``pretrained=None``, on mmseg's
    MAE config: that config's model-level ``pretrained`` reaches the backbone beside
    ``init_cfg``; the error names both."""
    from mmengine.runner import Runner

    path, _ = pretrained_64
    cfg = user_cfg(tmp_path, seg_root, backbone_extra=INIT_CFG.format(checkpoint=path))
    with pytest.raises(
        ValueError,
        match=r"MAESegViT: pretrained='\./pretrain/mae_pretrain_vit_base_mmcls\.pth' and "
        r'init_cfg=.*iter_1\.pth.*are both set.*model=dict\(pretrained=None',
    ):
        Runner.from_cfg(cfg)


def test_model_level_pretrained_loads_through_the_strict_loader(tmp_path, seg_root, pretrained_64):
    """mmseg's older spelling, ``model.pretrained=PATH`` without ``init_cfg``: the same loader."""
    from mmengine.runner import Runner

    path, mae = pretrained_64
    cfg = user_cfg(tmp_path, seg_root, model_extra=f"\n    pretrained='{path}',")
    runner = Runner.from_cfg(cfg)
    backbone = runner.model.backbone
    assert backbone.init_cfg == dict(type='Pretrained', checkpoint=path)
    runner.model.init_weights()
    torch.testing.assert_close(
        backbone.encoder.vit.blocks[1].mlp.fc2.weight, mae.encoder.vit.blocks[1].mlp.fc2.weight
    )
    assert 'MAESegViT: loaded 28 tensors' in runner_log(runner)

    cfg = user_cfg(tmp_path, seg_root, model_extra=f"\n    pretrained='{path}',")
    cfg.model.backbone.arch.embed_dim = 96  # not the checkpoint's width
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match='another architecture.*shape mismatches'):
        runner.model.init_weights()
