# MAE ViT-H/14, 1600 epochs (configs/mae_vit-h_1600e.py) under MAEFSDP2Strategy: every encoder
# and decoder block and the root sharded with torch's FSDP2, bf16 compute and fp32 gradient
# reduction on GPUs, activation checkpointing on (docs/scaling.md: memory per GPU).
#   torchrun --nproc_per_node=8 tools/train.py configs/mae_vit-h_1600e_fsdp.py --launcher pytorch
_base_ = 'mae_vit-h_1600e.py'
# FlexibleRunner with the plugin's lr rule (batch x processes x accumulation / 256) and
# code-free, strict resume (mae_plugin/engine/runtime/flexible_runner.py)
runner_type = 'mae_plugin.MAEFlexibleRunner'
strategy = dict(type='mae_plugin.MAEFSDP2Strategy', activation_checkpointing=True)
# The reconstruction pictures run on every rank here (a sharded model needs every rank in each
# forward); rank 0 writes them.
