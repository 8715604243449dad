# MAE ViT-L linear probing on ImageNet-1K (official recipe; paper: 75.8 top-1).
_base_ = 'vit-b-mae_linprobe-90e_in1k.py'
model = dict(arch='large', init_cfg=dict(checkpoint='checkpoints/mae_pretrain_vit_large.pth'))
