# Does pretraining learn? scikit-learn's 1,797 handwritten digits (tools/prepare_demo_data.py
# --digits writes them, 32 px, to data/demo/digits/{train,val}/<digit>/): the MAE pretrains on the
# training split without its labels, and the kNN monitor scores the encoder on the digit classes
# before training (the random encoder) and every 100 iterations. The method is the paper's (mask
# ratio 0.75, norm-pix loss, AdamW (0.9, 0.95), warm-up + cosine, RandomResizedCrop (0.2, 1)
# bicubic + flip); the sizes are the demo ViT's with patches of 4 pixels (an 8 x 8 grid).
_base_ = [
    '_base_/models/mae_vit-b.py',
    '_base_/models/vit-t_demo.py',
    '_base_/schedules/mae_adamw.py',
    '_base_/pretrain_runtime.py',
]
img_size = 32
patch_size = 4
model = dict(
    encoder=dict(img_size=img_size, **dict(_base_.demo_vit, patch_size=patch_size)),
    decoder=dict(embed_dim=128, depth=2, num_heads=4),
)

data_root = 'data/demo/digits'
train_dataloader = dict(
    batch_size=128,
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

# As the demo: a short run wants a larger step than the paper's 1.5e-4 x batch / 256.
optim_wrapper = dict(optimizer=dict(lr=1.5e-3))
auto_scale_lr = dict(enable=False)
max_iters = 1000
warmup_iters = 50
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=False, begin=0, end=warmup_iters),
    dict(
        type='CosineAnnealingLR',
        T_max=max_iters - warmup_iters,
        eta_min=0.0,
        by_epoch=False,
        begin=warmup_iters,
        end=max_iters,
    ),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(interval=250, by_epoch=False, max_keep_ckpts=2),
    visualization=dict(interval=250),
    # weighted kNN top-1 on the held-out digits, the training digits as neighbours
    knn=dict(
        type='KNNMonitorHook',
        data_root=data_root,
        interval=100,
        by_epoch=False,
        before_train=True,
    ),
)
log_processor = dict(by_epoch=False)
