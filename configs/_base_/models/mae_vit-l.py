_base_ = 'mae_vit-b.py'
# MAE ViT-L/16: encoder = timm vit_large_patch16_224.
model = dict(encoder=dict(embed_dim=1024, depth=24, num_heads=16))
