"""Runner-free data code that every runner adapter shares (torch, torchvision, PIL; no MMEngine).

The image-folder scan with its one class list per dataset family, image reading with the corrupt
file error, the pretraining transforms of one sample (load and crop, decoding JPEGs at reduced
scale where the crop allows; flip, mask, pack), the ImageNet normalisation constants, and tar
shards (``pack_folder`` writes them, ``ShardStream`` reads them resumably).
``mae_plugin.engine`` registers the transforms as they are and wraps the scan in its dataset;
another runner chains the same objects.
"""

from .constants import IMAGENET_MEAN, IMAGENET_STD
from .folder import IMAGE_EXTENSIONS, class_folders, read_classes, scan_image_folder
from .image import CorruptImageError, load_image, read_center_crop, to_uint8_tensor
from .pack import pack_folder
from .shards import ShardStream, expand_shards
from .transforms import (
    MAELoadImage,
    MAELoadRandomResizedCrop,
    MAEMaskGenerator,
    MAEPackInputs,
    MAERandomFlip,
    MAERandomResizedCrop,
)

__all__ = [
    'IMAGENET_MEAN',
    'IMAGENET_STD',
    'IMAGE_EXTENSIONS',
    'class_folders',
    'read_classes',
    'scan_image_folder',
    'CorruptImageError',
    'load_image',
    'read_center_crop',
    'to_uint8_tensor',
    'MAELoadImage',
    'MAELoadRandomResizedCrop',
    'MAEMaskGenerator',
    'MAEPackInputs',
    'MAERandomFlip',
    'MAERandomResizedCrop',
    'pack_folder',
    'ShardStream',
    'expand_shards',
]
