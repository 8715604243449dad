_base_ = [
    '_base_/models/mae_vit-b.py',
    '_base_/datasets/imagenet_pretrain.py',
    '_base_/schedules/mae_1600e.py',
    '_base_/pretrain_runtime.py',
]
