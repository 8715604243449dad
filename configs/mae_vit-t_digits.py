# Does pretraining learn? scikit-learn's 1,797 handwritten digits (tools/prepare_demo_data.py
# --digits writes them, 32 px, to data/demo/digits/{train,val}/<digit>/): the MAE pretrains on the
# training split without its labels, and the kNN monitor scores the encoder on the digit classes
# before training (the random encoder) and every 100 iterations. The demo's method, model and
# pipeline (configs/mae_vit-t_demo.py) with patches of 4 pixels (an 8 x 8 grid), batch 128,
# 1,000 iterations.
_base_ = ['mae_vit-t_demo.py']
img_size = 32
patch_size = 4
model = dict(encoder=dict(img_size=img_size, patch_size=patch_size))

data_root = 'data/demo/digits'
# the demo's pipeline, its steps' sizes set to the digits'
sizes = dict(size=img_size, input_size=img_size, patch_size=patch_size)
train_dataloader = dict(
    batch_size=128,
    dataset=dict(
        data_root=data_root,
        pipeline=[
            {**step, **{key: value for key, value in sizes.items() if key in step}}
            for step in _base_.train_dataloader.dataset.pipeline
        ],
    ),
)

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
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(
    checkpoint=dict(interval=250),
    visualization=dict(interval=250),
    # weighted kNN top-1 on the held-out digits, the training digits as neighbours, on the mean
    # of the patch tokens: MAE trains no objective on the cls token (README, "Does pretraining
    # learn?", gives both)
    knn=dict(data_root=data_root, before_train=True, pool='avg'),
)
