# Official MAE fine-tuning model: global average pooling + fc_norm, head trunc-normal std 2e-5;
# random erasing 0.25 ('pixel' mode, 1 box) and timm Mixup (mixup 0.8, cutmix 1.0, switch 0.5,
# label smoothing 0.1) on the batch. arch, drop path and the checkpoint are set per config.
num_classes = 1000
model = dict(
    type='MAEClassifier',
    arch='base',
    num_classes=num_classes,
    img_size=224,
    pool='avg',
    drop_path_rate=0.1,
    head_init_std=2e-5,
    label_smoothing=0.1,  # used when mixup is switched off (Mixup smooths its own targets)
    data_preprocessor=dict(
        random_erasing=dict(probability=0.25, mode='pixel', max_count=1),
        mixup=dict(
            mixup_alpha=0.8,
            cutmix_alpha=1.0,
            prob=1.0,
            switch_prob=0.5,
            mode='batch',
            label_smoothing=0.1,
        ),
    ),
    # the one line that names the pretrained MAE (any format the plugin reads)
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/mae_pretrain_vit_base.pth'),
)
