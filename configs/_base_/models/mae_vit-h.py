_base_ = 'mae_vit-b.py'
# MAE ViT-H/14: encoder = timm vit_huge_patch14_224 (16 x 16 patches of 14 pixels).
model = dict(encoder=dict(patch_size=14, embed_dim=1280, depth=32, num_heads=16))
