# MAE ViT-L end-to-end fine-tuning on ImageNet-1K (official recipe; paper: 85.9 top-1).
_base_ = [
    '../_base_/models/mae_finetune.py',
    '../_base_/datasets/imagenet_finetune.py',
    '../_base_/schedules/finetune_adamw_50e.py',
    '../_base_/cls_runtime.py',
]
model = dict(
    arch='large',
    drop_path_rate=0.2,
    init_cfg=dict(checkpoint='checkpoints/mae_pretrain_vit_large.pth'),
)
