# MAE ViT-H end-to-end fine-tuning on ImageNet-1K (official recipe; paper: 86.9 top-1): the
# ViT-L recipe (lr 1e-3 x batch / 256, layer decay 0.75, 50 epochs) with drop path 0.3.
_base_ = 'vit-l-mae_finetune-50e_in1k.py'
model = dict(
    arch='huge',
    drop_path_rate=0.3,
    init_cfg=dict(checkpoint='checkpoints/mae_pretrain_vit_huge.pth'),
)
