_base_ = 'imagenet_finetune.py'
# The demo tiles (tools/prepare_demo_data.py): 20 classes, one per scikit-image photograph, 240
# train / 80 val tiles of 64 px in data/demo/knn. The fine-tuning pipelines at 64 px (linear
# probing drops RandAugment); batches for 2 CPU cores.
img_size = 64
data_root = 'data/demo/knn'
train_pipeline = [
    dict(type='MAELoadImage'),
    dict(type='MAERandomResizedCrop', size=img_size, scale=(0.08, 1.0), interpolation='bicubic'),
    dict(type='MAERandomFlip', prob=0.5),
    dict(type='MAERandAugment', config_str='rand-m9-mstd0.5-inc1', input_size=img_size),
    dict(type='MAEPackInputs'),
]
test_pipeline = [
    dict(type='MAELoadImage'),
    dict(type='MAEResize', size=img_size * 8 // 7, interpolation='bicubic'),  # 256 : 224
    dict(type='MAECenterCrop', size=img_size),
    dict(type='MAEPackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    pin_memory=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=40,
    num_workers=2,
    pin_memory=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline),
)
test_dataloader = val_dataloader
