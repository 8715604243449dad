# MAE ViT-L + UperNet on ADE20K, 160k iterations at batch 16 (paper: 53.6 mIoU).
# The paper searched the lr per pre-training; we start from lr 1e-4 and layer decay 0.75 for the
# 24 blocks (the starting point; not yet tuned on ADE20K).
_base_ = [
    '../_base_/models/upernet_mae_vit-b.py',
    '../_base_/datasets/ade20k_checked.py',
    '../_base_/schedules/seg_adamw_160k.py',
    '../_base_/seg_runtime.py',
]
model = dict(
    backbone=dict(
        arch='large',
        out_indices=(7, 11, 15, 23),
        init_cfg=dict(checkpoint='checkpoints/mae_pretrain_vit_large.pth'),
    ),
    neck=dict(embed_dim=1024),
    decode_head=dict(in_channels=[1024, 1024, 1024, 1024]),
    auxiliary_head=dict(in_channels=1024),
)
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.75))
