_base_ = 'imagenet_pretrain.py'
# For patches of 14 pixels (ViT-H/14): the mask is drawn over a 16 x 16 grid.
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='MAELoadImage'),
    dict(type='MAERandomResizedCrop', size=224, scale=(0.2, 1.0), interpolation='bicubic'),
    dict(type='MAERandomFlip', prob=0.5),
    dict(type='MAEMaskGenerator', input_size=224, patch_size=14, mask_ratio=0.75,
         strategy='random'),
    dict(type='MAEPackInputs'),
]))
