# ImageNet-1K train split in the usual folder layout: data/imagenet/train/<wnid>/*.JPEG
data_root = 'data/imagenet'
train_pipeline = [
    # load + RandomResizedCrop in one: JPEGs decode at 1/2-1/8 scale when the crop allows
    dict(type='MAELoadRandomResizedCrop', size=224, scale=(0.2, 1.0), interpolation='bicubic'),
    dict(type='MAERandomFlip', prob=0.5),
    dict(
        type='MAEMaskGenerator', input_size=224, patch_size=16, mask_ratio=0.75, strategy='random'
    ),
    dict(type='MAEPackInputs'),
]
# 8 GPUs x 512 = the paper's total batch of 4096; the last partial batch is dropped, as the
# official loader and the Lightning side do (same steps per epoch, same warm-up).
train_dataloader = dict(
    batch_size=512,
    drop_last=True,
    num_workers=10,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='MAEImageFolder',
        data_root=data_root,
        data_prefix=dict(img_path='train'),
        pipeline=train_pipeline,
    ),
)
