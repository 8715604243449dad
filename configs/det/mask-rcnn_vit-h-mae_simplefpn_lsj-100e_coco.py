# MAE ViT-H Mask R-CNN, ViTDet recipe: global blocks 7/15/23/31, drop path 0.5, layer decay 0.9.
# As ViTDet, ViT-H runs with 16 x 16 patches: the 14 x 14 patch embedding is resampled on load.
_base_ = 'mask-rcnn_vit-b-mae_simplefpn_lsj-100e_coco.py'
model = dict(
    backbone=dict(
        arch=dict(_delete_=True, patch_size=16, embed_dim=1280, depth=32, num_heads=16),
        drop_path_rate=0.5,
        init_cfg=dict(checkpoint='checkpoints/mae_pretrain_vit_huge.pth'),
    ),
    neck=dict(in_channels=1280),
)
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.9))
