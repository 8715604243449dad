# MAE ViT-B/16: encoder = timm vit_base_patch16_224; decoder 8 blocks x 512 dims x 16 heads.
model = dict(
    type='MAEPretrainModel',
    encoder=dict(
        type='MaskedViTEncoder', img_size=224, patch_size=16, embed_dim=768, depth=12, num_heads=12
    ),
    decoder=dict(embed_dim=512, depth=8, num_heads=16),
    loss=dict(type='NormalizedPixelLoss', norm_pix=True),
    mask_ratio=0.75,
    data_preprocessor=dict(type='MAEDataPreprocessor'),
)
