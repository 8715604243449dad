"""What the mmseg transfer tests share: the demo UperNet config, demo photographs as an
ADE20K-layout folder, and a user's own mmseg config with the lines of docs/segmentation.md."""

import glob
import os
import uuid

from tests.helpers.paths import ROOT
from tools.demo_data import prepare_seg_split

CONFIG = os.path.join(ROOT, 'configs', 'seg', 'upernet_vit-t-mae_demo.py')

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


def seg_folder(root):
    """Demo photographs written as an ADE20K-layout folder under ``root`` (short side 64); its
    path."""
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
