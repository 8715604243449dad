# UperNet on the MAE ViT-B (the paper's ADE20K transfer, BEiT's segmentation setup), built on
# mmseg's own UperNet base with the plugin's backbone: per-block relative position bias
# (zero-initialised), layer scale (init 1.0, as mmseg's MAE config), drop path 0.1, features of
# blocks 3/5/7/11 turned into a x4/x2/x1/x0.5 pyramid by mmseg's Feature2Pyramid; UPerHead with
# 768 channels + an auxiliary FCN head; sliding-window test, crop 512, stride 341.
_base_ = 'mmseg::_base_/models/upernet_mae.py'
custom_imports = dict(imports=['mae_plugin.seg'], allow_failed_imports=False)
model = dict(
    data_preprocessor=dict(size=(512, 512)),
    backbone=dict(
        _delete_=True,
        type='mae_plugin.MAESegViT',
        arch='base',
        img_size=512,
        drop_path_rate=0.1,
        out_indices=(3, 5, 7, 11),
        rel_pos_bias=True,
        layer_scale_init=1.0,
        # the one line that names the pretrained MAE (any format the plugin reads)
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/mae_pretrain_vit_base.pth'),
    ),
    neck=dict(embed_dim=768, rescales=[4, 2, 1, 0.5]),
    decode_head=dict(in_channels=[768, 768, 768, 768], channels=768, num_classes=150),
    auxiliary_head=dict(in_channels=768, num_classes=150),
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)),
)
