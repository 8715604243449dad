_base_ = 'imagenet_pretrain.py'
# For patches of 14 pixels (ViT-H/14): the same pipeline, the mask drawn over a 16 x 16 grid.
train_pipeline = [
    dict(step, patch_size=14) if step.type == 'MAEMaskGenerator' else step
    for step in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
