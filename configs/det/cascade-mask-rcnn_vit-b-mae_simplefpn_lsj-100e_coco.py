# MAE ViT-B Cascade Mask R-CNN, ViTDet recipe: mmdet's Cascade Mask R-CNN base with the ViTDet
# backbone, simple feature pyramid, 2-conv RPN, 4-conv-1-fc box heads and 4-conv mask head with
# LayerNorm in every stage.
_base_ = [
    'mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py',
    '../_base_/schedules/vitdet_100e.py',
]
custom_imports = dict(imports=['mae_plugin.det'], allow_failed_imports=False)
norm_cfg = dict(type='mae_plugin.LN2d', requires_grad=True)


def box_head(stds):
    return dict(
        type='Shared4Conv1FCBBoxHead', in_channels=256, conv_out_channels=256,
        fc_out_channels=1024, roi_feat_size=7, num_classes=80, norm_cfg=norm_cfg,
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0, 0.0, 0.0, 0.0],
                        target_stds=stds),
        reg_class_agnostic=True,
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))


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
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/mae_pretrain_vit_base.pth')),
    neck=dict(_delete_=True, type='mae_plugin.MAESimpleFPN', in_channels=768, out_channels=256,
              num_outs=5),
    rpn_head=dict(num_convs=2),
    roi_head=dict(
        bbox_head=[box_head([0.1, 0.1, 0.2, 0.2]), box_head([0.05, 0.05, 0.1, 0.1]),
                   box_head([0.033, 0.033, 0.067, 0.067])],
        mask_head=dict(norm_cfg=norm_cfg)))
del box_head
