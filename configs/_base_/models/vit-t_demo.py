# The demo ViT: 192 dims, 6 blocks, 3 heads, patches of 8 pixels (a 64-pixel input is an 8 x 8
# grid). configs/mae_vit-t_demo.py pretrains it; the demo transfer configs build on it. Each of
# them reads it as `_base_.demo_vit`, so the size is written once.
demo_vit = dict(patch_size=8, embed_dim=192, depth=6, num_heads=3)
