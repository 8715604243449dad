# Mask R-CNN on the MAE ViT-B with the ViTDet recipe, built on mmdet's own Mask R-CNN base:
# ViTDet backbone (window 14, global blocks 2/5/8/11, decomposed relative positions, drop path
# 0.1), simple feature pyramid (strides 4-32 + P6) with channel LayerNorm, RPN with 2 convs,
# 4-conv-1-fc box head and 4-conv mask head with LayerNorm; inputs padded to 1024.
_base_ = 'mmdet::_base_/models/mask-rcnn_r50_fpn.py'
custom_imports = dict(imports=['mae_plugin.det'], allow_failed_imports=False)
norm_cfg = dict(type='mae_plugin.LN2d', requires_grad=True)
model = dict(
    data_preprocessor=dict(
        pad_size_divisor=32,
        batch_augments=[dict(type='BatchFixedSizePad', size=(1024, 1024), pad_mask=True)]),
    backbone=dict(
        _delete_=True,
        type='mae_plugin.MAEViTDet',
        arch='base',
        img_size=1024,
        window_size=14,
        drop_path_rate=0.1,
        # the one line that names the pretrained MAE (any format the plugin reads)
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/mae_pretrain_vit_base.pth')),
    neck=dict(_delete_=True, type='mae_plugin.MAESimpleFPN', in_channels=768, out_channels=256,
              num_outs=5),
    rpn_head=dict(num_convs=2),
    roi_head=dict(
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256,
                       norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))
