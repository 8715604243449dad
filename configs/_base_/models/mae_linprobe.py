# Official MAE linear probing: frozen encoder, cls token after the pretrained final norm,
# BatchNorm1d(affine=False) then a Linear head with trunc-normal std 0.01; plain cross-entropy.
num_classes = 1000
model = dict(
    type='MAEClassifier',
    arch='base',
    num_classes=num_classes,
    img_size=224,
    pool='cls',
    drop_path_rate=0.0,
    head_bn=True,
    head_init_std=0.01,
    trainable_blocks=0,
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/mae_pretrain_vit_base.pth'),
)
