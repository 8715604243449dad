"""The registered transforms are the runner-free data classes."""

import mae_plugin  # noqa: F401
from mae_plugin import data
from mae_plugin.engine.registry import TRANSFORMS


def test_registered_transforms_are_the_data_classes():
    for name in (
        'MAELoadImage',
        'MAELoadRandomResizedCrop',
        'MAERandomResizedCrop',
        'MAERandomFlip',
        'MAEMaskGenerator',
        'MAEPackInputs',
    ):
        assert TRANSFORMS.get(name) is getattr(data, name)
