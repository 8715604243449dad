# Mask R-CNN on the MAE ViT-B with the ViTDet recipe, built on mmdet's own Mask R-CNN base: the
# ViTDet pieces (vitdet_mae_vit-b.py), then a 4-conv-1-fc box head and a 4-conv mask head with
# LayerNorm.
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py', 'vitdet_mae_vit-b.py']
model = dict(
    **_base_.vitdet,
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead', conv_out_channels=256, norm_cfg=_base_.norm_cfg
        ),
        mask_head=dict(norm_cfg=_base_.norm_cfg),
    ),
)
vitdet = None  # merged into `model` above; left in, its ViT-B values would read as settings
