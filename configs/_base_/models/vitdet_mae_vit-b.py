# The MAE ViT-B as ViTDet's backbone (window 14, global blocks 2/5/8/11, decomposed relative
# positions, drop path 0.1) and simple feature pyramid (strides 4-32 + P6, channel LayerNorm),
# inputs padded to 1024, RPN with 2 convs: the pieces every ViTDet detector shares. A detector
# config merges `_base_.vitdet` into its mmdet model (replacing mmdet's ResNet and FPN, hence
# `_delete_`) and then sets `vitdet = None`; `_base_.norm_cfg` is the heads' LayerNorm.
custom_imports = dict(imports=['mae_plugin.det'], allow_failed_imports=False)
norm_cfg = dict(type='mae_plugin.LN2d', requires_grad=True)
vitdet = dict(
    data_preprocessor=dict(
        pad_size_divisor=32,
        batch_augments=[dict(type='BatchFixedSizePad', size=(1024, 1024), pad_mask=True)],
    ),
    backbone=dict(
        _delete_=True,
        type='mae_plugin.MAEViTDet',
        arch='base',
        img_size=1024,
        window_size=14,
        drop_path_rate=0.1,
        # the one line that names the pretrained MAE (any format the plugin reads)
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/mae_pretrain_vit_base.pth'),
    ),
    neck=dict(
        _delete_=True, type='mae_plugin.MAESimpleFPN', in_channels=768, out_channels=256, num_outs=5
    ),
    rpn_head=dict(num_convs=2),
)
