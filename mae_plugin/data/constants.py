"""Normalisation constants of the MAE recipes: RGB, on the 0-255 scale.

The images stay uint8 until the batch is normalised on the training device.
"""

IMAGENET_MEAN = (123.675, 116.28, 103.53)  # 255 x (0.485, 0.456, 0.406)
IMAGENET_STD = (58.395, 57.12, 57.375)  # 255 x (0.229, 0.224, 0.225)
