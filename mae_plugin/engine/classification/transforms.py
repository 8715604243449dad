"""Classification pipeline pieces beyond pretraining's crop and flip (PIL in, PIL out).

Fine-tuning (official ``main_finetune.py`` through timm's ``create_transform``):
RandomResizedCrop(224, (0.08, 1), bicubic) -> flip -> RandAugment 'rand-m9-mstd0.5-inc1' -> pack;
random erasing and mixup/cutmix follow on the batch in ``MAEClsDataPreprocessor``.
Evaluation: resize the shorter side to 256 (bicubic) -> centre crop 224 -> pack.
"""

from __future__ import annotations

from typing import Any

from PIL import Image, ImageOps
from timm.data import rand_augment_transform
from timm.data.auto_augment import AugmentOp, RandAugment
from timm.data.transforms import str_to_pil_interp
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

from ...data.constants import IMAGENET_MEAN
from ..registry import TRANSFORMS


@TRANSFORMS.register_module()
class MAEResize:
    """Resize the shorter side to ``size`` (an int), or to (h, w) exactly (a pair)."""

    def __init__(self, size: int | tuple[int, int] = 256, interpolation: str = 'bicubic') -> None:
        self.size = size if isinstance(size, int) else list(size)
        self.interpolation = InterpolationMode(interpolation)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        """Resize ``results['img']``, a PIL image or a (C, H, W) tensor."""
        results['img'] = F.resize(results['img'], self.size, self.interpolation)
        return results


@TRANSFORMS.register_module()
class MAECenterCrop:
    """Centre crop to ``size`` x ``size``."""

    def __init__(self, size: int = 224) -> None:
        self.size = size

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        """Crop the centre of ``results['img']``, a PIL image or a (C, H, W) tensor."""
        results['img'] = F.center_crop(results['img'], self.size)
        return results


@TRANSFORMS.register_module()
class MAERandAugment:
    """timm's RandAugment with the hyper-parameters timm's ``create_transform`` derives.

    Args:
        config_str: timm policy string; the MAE recipe is 'rand-m9-mstd0.5-inc1'.
        input_size: crop size; translations go up to 0.45 x its side.
        mean: fill colour of geometric ops, the dataset mean in 0-255 RGB.
        interpolation: of geometric ops.
    """

    def __init__(
        self,
        config_str: str = 'rand-m9-mstd0.5-inc1',
        input_size: int = 224,
        mean: tuple[float, ...] = IMAGENET_MEAN,
        interpolation: str = 'bicubic',
    ) -> None:
        if not config_str.startswith('rand'):
            raise ValueError(f"RandAugment policy strings start with 'rand', got {config_str!r}")
        hparams = dict(
            translate_const=int(input_size * 0.45),
            img_mean=tuple(min(255, round(m)) for m in mean),
            interpolation=str_to_pil_interp(interpolation),
        )
        parsed = rand_augment_transform(config_str, hparams)
        ops = [
            PillowSafePosterize(op) if op.name == 'PosterizeIncreasing' else op for op in parsed.ops
        ]
        self.augment = RandAugment(ops, parsed.num_layers, parsed.choice_weights)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        """Augment ``results['img']``, a PIL image, drawing from numpy's and Python's generators."""
        results['img'] = self.augment(results['img'])
        return results


class PillowSafePosterize(AugmentOp):
    """timm's posterize op whose function works on every Pillow.

    Same name, probability, magnitude and randomisation as timm's. At magnitude 10 ('inc1',
    reached with mstd 0.5) timm asks for 0 bits, which Pillow < 13 turned into a black image
    (what the official runs saw) and Pillow 13 refuses. timm picks an op's function by name in
    ``AugmentOp.__init__``, so this subclass sets its own there; timm offers no other way to
    give one op another function.

    Args:
        op: the op timm's policy parsed, whose settings are kept.
    """

    def __init__(self, op: AugmentOp) -> None:
        super().__init__(op.name, op.prob, op.magnitude, op.hparams)
        self.aug_fn = _posterize


def _posterize(img: Image.Image, bits_to_keep: int, **_: object) -> Image.Image:
    """``bits_to_keep`` bits per channel; 0 bits is black, as Pillow < 13 made it."""
    if bits_to_keep >= 8:
        return img
    if bits_to_keep <= 0:
        return Image.new(img.mode, img.size)
    return ImageOps.posterize(img, bits_to_keep)
