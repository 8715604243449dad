# COCO instances with ViTDet's large-scale jitter (resize ratio 0.1-2.0 of 1024, crop 1024,
# flip), as mmdet's common/lsj-100e_coco-instance.py, on mmdet's COCO setup (CocoMetric bbox +
# segm through pycocotools) and the plugin's checked dataset, which names a missing annotation
# file or image before training starts. Test: longest side 1024, padded. mmdet's LSJ file also
# carries a schedule and a runtime, so this dataset builds on mmdet's dataset file instead.
_base_ = 'mmdet::_base_/datasets/coco_instance.py'
image_size = (1024, 1024)
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomResize', scale=image_size, ratio_range=(0.1, 2.0), keep_ratio=True),
    dict(
        type='RandomCrop',
        crop_type='absolute_range',
        crop_size=image_size,
        recompute_bbox=True,
        allow_negative_crop=True,
    ),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='Pad', size=image_size, pad_val=dict(img=(114, 114, 114))),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'),
    ),
]
# 8 GPUs x 8 = the recipe's batch of 64; fixed-size crops need no aspect-ratio batches
train_dataloader = dict(
    batch_size=8,
    batch_sampler=None,
    dataset=dict(
        _delete_=True,
        type='RepeatDataset',
        times=1,
        dataset=dict(
            _base_.train_dataloader.dataset,
            type='mae_plugin.MAECocoDataset',
            pipeline=train_pipeline,
        ),
    ),
)
val_dataloader = dict(dataset=dict(type='mae_plugin.MAECocoDataset', pipeline=test_pipeline))
test_dataloader = val_dataloader
