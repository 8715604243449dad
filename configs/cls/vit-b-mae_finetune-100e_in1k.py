# MAE ViT-B end-to-end fine-tuning on ImageNet-1K (official recipe; paper: 83.6 top-1).
_base_ = [
    '../_base_/models/mae_finetune.py',
    '../_base_/datasets/imagenet_finetune.py',
    '../_base_/schedules/finetune_adamw_100e.py',
    '../_base_/cls_runtime.py',
]
model = dict(
    arch='base',
    drop_path_rate=0.1,
    init_cfg=dict(checkpoint='checkpoints/mae_pretrain_vit_base.pth'),
)
