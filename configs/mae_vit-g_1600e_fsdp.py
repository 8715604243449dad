# MAE ViT-g/14 (width 1408, depth 40, 16 heads, MLP 6144: about 1.0 B encoder parameters, beyond
# the paper's sizes), the ViT-H recipe and decoder, sharded with MAEFSDP2Strategy. Per-GPU memory
# on paper in docs/scaling.md.
#   torchrun --nproc_per_node=8 tools/train.py configs/mae_vit-g_1600e_fsdp.py --launcher pytorch
_base_ = 'mae_vit-h_1600e_fsdp.py'
model = dict(encoder=dict(embed_dim=1408, depth=40, num_heads=16, mlp_ratio=6144 / 1408))
