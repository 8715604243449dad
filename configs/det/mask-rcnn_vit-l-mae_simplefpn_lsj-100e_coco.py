# MAE ViT-L Mask R-CNN, ViTDet recipe: global blocks 5/11/17/23, drop path 0.4, layer decay 0.8.
_base_ = 'mask-rcnn_vit-b-mae_simplefpn_lsj-100e_coco.py'
model = dict(
    backbone=dict(
        arch='large',
        drop_path_rate=0.4,
        init_cfg=dict(checkpoint='checkpoints/mae_pretrain_vit_large.pth'),
    ),
    neck=dict(in_channels=1024),
)
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.8))
