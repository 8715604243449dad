# MAE ViT-B + UperNet on ADE20K, 160k iterations at batch 16 (paper: 48.1 mIoU).
_base_ = [
    '../_base_/models/upernet_mae_vit-b.py',
    '../_base_/datasets/ade20k_checked.py',
    '../_base_/schedules/seg_adamw_160k.py',
    '../_base_/seg_runtime.py',
]
