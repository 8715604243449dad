# The embedded default: a small MAE pretrained on scikit-image's sample photographs
# (tools/prepare_demo_data.py writes them to data/demo/train) in a few minutes on 2 CPU cores.
# The method is the paper's (mask ratio 0.75, norm-pix loss, AdamW (0.9, 0.95), warm-up + cosine,
# RandomResizedCrop (0.2, 1) bicubic + flip); only the sizes and the schedule are shrunk.
_base_ = [
    '_base_/models/mae_vit-b.py',
    '_base_/models/vit-t_demo.py',
    '_base_/schedules/mae_adamw.py',
    '_base_/pretrain_runtime.py',
]
img_size = 64
patch_size = _base_.demo_vit.patch_size
model = dict(
    encoder=dict(img_size=img_size, **_base_.demo_vit),
    decoder=dict(embed_dim=128, depth=2, num_heads=4),
)

data_root = 'data/demo'
train_dataloader = dict(
    batch_size=32,
    drop_last=True,  # as every pretraining loader (no effect under the InfiniteSampler)
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='MAEImageFolder',
        data_root=data_root,
        data_prefix=dict(img_path='train'),
        pipeline=[
            dict(
                type='MAELoadRandomResizedCrop',
                size=img_size,
                scale=(0.2, 1.0),
                interpolation='bicubic',
            ),
            dict(type='MAERandomFlip', prob=0.5),
            dict(
                type='MAEMaskGenerator',
                input_size=img_size,
                patch_size=patch_size,
                mask_ratio=0.75,
                strategy='random',
            ),
            dict(type='MAEPackInputs'),
        ],
    ),
)

# A short run wants a larger step than 1.5e-4 x 32 / 256; no rescaling for the demo batch.
optim_wrapper = dict(optimizer=dict(lr=1.5e-3))
auto_scale_lr = dict(enable=False)
max_iters = 500
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=False, begin=0, end=30),
    dict(
        type='CosineAnnealingLR',
        T_max=max_iters - 30,
        eta_min=0.0,
        by_epoch=False,
        begin=30,
        end=max_iters,
    ),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(interval=100, by_epoch=False, max_keep_ckpts=2),
    visualization=dict(interval=100),
    # representation monitor on tiles of the demo photographs (one class per photograph)
    knn=dict(type='KNNMonitorHook', data_root='data/demo/knn', interval=100, by_epoch=False),
)
log_processor = dict(by_epoch=False)
