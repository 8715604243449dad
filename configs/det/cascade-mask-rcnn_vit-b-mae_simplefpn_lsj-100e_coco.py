# MAE ViT-B Cascade Mask R-CNN, ViTDet recipe: mmdet's Cascade Mask R-CNN base with the ViTDet
# pieces (backbone, simple feature pyramid, 2-conv RPN; _base_/models/vitdet_mae_vit-b.py) and
# a 4-conv-1-fc box head with LayerNorm in every stage, 4-conv mask head with LayerNorm.
_base_ = [
    'mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py',
    '../_base_/models/vitdet_mae_vit-b.py',
    '../_base_/datasets/coco_lsj_checked.py',
    '../_base_/schedules/vitdet_100e.py',
    '../_base_/det_runtime.py',
]


def box_head(stds):
    return dict(
        type='Shared4Conv1FCBBoxHead',
        in_channels=256,
        conv_out_channels=256,
        fc_out_channels=1024,
        roi_feat_size=7,
        num_classes=80,
        norm_cfg=_base_.norm_cfg,
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder', target_means=[0.0, 0.0, 0.0, 0.0], target_stds=stds
        ),
        reg_class_agnostic=True,
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0),
    )


model = dict(
    **_base_.vitdet,
    roi_head=dict(
        bbox_head=[
            box_head([0.1, 0.1, 0.2, 0.2]),
            box_head([0.05, 0.05, 0.1, 0.1]),
            box_head([0.033, 0.033, 0.067, 0.067]),
        ],
        mask_head=dict(norm_cfg=_base_.norm_cfg),
    ),
)
vitdet = None  # merged into `model` above; left in, its values would read as settings
del box_head
