# mmdet's large-scale-jitter COCO instance setup (resize ratio 0.1-2.0 of 1024, crop 1024,
# flip; CocoMetric bbox + segm through pycocotools) on the plugin's checked dataset, which names
# a missing annotation file or image before training starts. Test: longest side 1024, padded.
# mmdet's runtime comes with it; the plugin's checkpoint-safety hooks are added here.
_base_ = 'mmdet::common/lsj-100e_coco-instance.py'
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 1024), keep_ratio=True),
    dict(type='Pad', size=(1024, 1024), pad_val=dict(img=(114, 114, 114))),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
# 8 GPUs x 8 = the recipe's batch of 64
train_dataloader = dict(
    batch_size=8,
    dataset=dict(type='RepeatDataset', times=1,
                 dataset=dict(type='mae_plugin.MAECocoDataset')))
val_dataloader = dict(dataset=dict(type='mae_plugin.MAECocoDataset', pipeline=test_pipeline))
test_dataloader = val_dataloader
# The plugin's runner (lr rule with accumulation; strict, code-free loading) and its
# checkpoint safety: atomic writes, weights_only-readable files, no NaN written, resume only
# of the same schedule.
runner_type = 'mae_plugin.MAERunner'
# `--amp` without a GPU: bf16 autocast of the ViT and its pyramid only, since mmcv's CPU kernels
# (NMS, RoIAlign) take fp32 only; the heads run fp32.
cpu_autocast_modules = ['backbone', 'neck']
default_hooks = dict(checkpoint=dict(type='mae_plugin.AtomicCheckpointHook'))
custom_hooks = [
    dict(type='mae_plugin.WeightsOnlyResumeHook'),
    dict(type='mae_plugin.FiniteWeightsHook'),
    dict(type='mae_plugin.ResumeScheduleGuardHook'),
]
