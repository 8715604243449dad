# mmseg's ADE20K pipeline (random resize 0.5-2.0 of (2048, 512), crop 512 with cat_max_ratio
# 0.75, flip, photometric distortion) on the plugin's checked dataset: a missing split folder or
# label map, or a label map of another size than its image, is an error that names the file.
_base_ = 'mmseg::_base_/datasets/ade20k.py'
crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='mae_plugin.MAECheckSegMap'),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='mae_plugin.MAECheckSegMap'),
    dict(type='PackSegInputs'),
]
# 8 GPUs x 2 = the recipe's batch of 16
train_dataloader = dict(
    batch_size=2, dataset=dict(type='mae_plugin.MAEADE20KDataset', pipeline=train_pipeline)
)
val_dataloader = dict(
    batch_size=1, dataset=dict(type='mae_plugin.MAEADE20KDataset', pipeline=test_pipeline)
)
test_dataloader = val_dataloader
