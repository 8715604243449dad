# Official linear probing: RandomResizedCrop(224, (0.08, 1), bicubic) + flip only; test as
# fine-tuning (resize 256, centre crop 224).
_base_ = 'imagenet_finetune.py'
train_pipeline = [
    dict(type='MAELoadImage'),
    dict(type='MAERandomResizedCrop', size=224, scale=(0.08, 1.0), interpolation='bicubic'),
    dict(type='MAERandomFlip', prob=0.5),
    dict(type='MAEPackInputs'),
]
# 8 GPUs x 2048 = the recipe's total batch of 16384 (frozen encoder: forward only).
train_dataloader = dict(batch_size=2048, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=256)
test_dataloader = val_dataloader
