# The demo (configs/mae_vit-t_demo.py) under MAEFSDP2Strategy: every encoder and decoder block
# and the root sharded with torch's FSDP2 over the processes torchrun starts (gloo, fp32 on
# CPUs; bf16 compute on GPUs). Checkpoints: iter_N.pth (consolidated, what converters read) +
# iter_N.pth.sharded/ (weights and AdamW state in shards, resumable at any world size).
#   torchrun --nproc_per_node=2 tools/train.py configs/mae_vit-t_demo_fsdp.py --launcher pytorch
_base_ = 'mae_vit-t_demo.py'
# FlexibleRunner with the plugin's lr rule and code-free resume
runner_type = 'mae_plugin.MAEFlexibleRunner'
strategy = dict(type='mae_plugin.MAEFSDP2Strategy', activation_checkpointing=False)
# The reconstruction pictures and the kNN monitor run on every rank here (a sharded model
# needs every rank in each forward); rank 0 writes them.
