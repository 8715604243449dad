# MAE ViT-B linear probing on ImageNet-1K (official recipe; paper: 68.0 top-1).
_base_ = [
    '../_base_/models/mae_linprobe.py',
    '../_base_/datasets/imagenet_linprobe.py',
    '../_base_/schedules/linprobe_lars_90e.py',
    '../_base_/cls_runtime.py',
]
model = dict(arch='base', init_cfg=dict(checkpoint='checkpoints/mae_pretrain_vit_base.pth'))
