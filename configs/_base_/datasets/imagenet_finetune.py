# ImageNet-1K in the usual folder layout: data/imagenet/{train,val}/<wnid>/*.JPEG
# Official fine-tuning augmentation (timm create_transform): RandomResizedCrop(224, (0.08, 1),
# bicubic) + flip + RandAugment rand-m9-mstd0.5-inc1 here; random erasing 0.25 and
# mixup 0.8 / cutmix 1.0 on the batch (the model's data preprocessor). Test: resize 256, crop 224.
data_root = 'data/imagenet'
train_pipeline = [
    dict(type='MAELoadImage'),
    dict(type='MAERandomResizedCrop', size=224, scale=(0.08, 1.0), interpolation='bicubic'),
    dict(type='MAERandomFlip', prob=0.5),
    dict(type='MAERandAugment', config_str='rand-m9-mstd0.5-inc1', input_size=224),
    dict(type='MAEPackInputs'),
]
test_pipeline = [
    dict(type='MAELoadImage'),
    dict(type='MAEResize', size=256, interpolation='bicubic'),
    dict(type='MAECenterCrop', size=224),
    dict(type='MAEPackInputs'),
]
# 8 GPUs x 128 = the recipe's total batch of 1024; mixup needs even batches (drop_last).
train_dataloader = dict(
    batch_size=128,
    num_workers=10,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='MAEImageFolder',
        data_root=data_root,
        data_prefix=dict(img_path='train'),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=10,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    # labels are the indices of the training split's class folders (a class missing in val
    # moves nothing); 'train' is taken under data_root. An evaluation never replaces an
    # unreadable image: an error naming it ('skip': left out of the accuracy and counted)
    dataset=dict(
        type='MAEImageFolder',
        data_root=data_root,
        data_prefix=dict(img_path='val'),
        classes='train',
        pipeline=test_pipeline,
        test_mode=True,
        on_corrupt='error',
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='MAEAccuracy', topk=(1, 5))
test_evaluator = val_evaluator
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
