# MAE ViT-H linear probing on ImageNet-1K (official recipe; paper: 76.6 top-1).
_base_ = 'vit-b-mae_linprobe-90e_in1k.py'
model = dict(arch='huge', init_cfg=dict(checkpoint='checkpoints/mae_pretrain_vit_huge.pth'))
