# MAE ViT-B Mask R-CNN, ViTDet recipe, COCO (paper 50.3 / 44.9; ViTDet recipe 51.6 / 45.9).
_base_ = [
    '../_base_/models/mask-rcnn_vitdet_mae_vit-b.py',
    '../_base_/datasets/coco_lsj_checked.py',
    '../_base_/schedules/vitdet_100e.py',
    '../_base_/det_runtime.py',
]
