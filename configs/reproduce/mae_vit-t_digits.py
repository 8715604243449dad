# The pretraining of every row of tools/reproduce.py (docs/reproduction.md): the digits MAE
# (configs/mae_vit-t_digits.py: the paper's method, mask ratio 0.75, norm-pix, decoder 2 x 128)
# on a schedule short enough for 14 runs on 2 CPU cores: 600 iterations at batch 32, about 13
# epochs of the 1,442 training digits (long enough to pass the plateau of the loss near 0.6,
# where the kNN top-1 first falls below the random encoder's: docs/monitoring.md). The recipe's
# shape is kept: AdamW (0.9, 0.95), linear warm-up then cosine to 0. A row changes one thing
# with --cfg-options (model.mask_ratio with the mask generator's, model.decoder.depth,
# model.loss.norm_pix).
_base_ = ['../mae_vit-t_digits.py']
max_iters = 600
warmup_iters = 20
train_dataloader = dict(batch_size=32)
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
# one checkpoint, one picture and one kNN score at the end (the kNN of the random encoder first)
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1),
    visualization=dict(interval=max_iters),
    knn=dict(interval=max_iters),
)
