"""MMEngine adapter of the evaluation classifier: ``MAEClassifier`` + ``MAEClsDataPreprocessor``."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from mmengine.model import ImgDataPreprocessor
from timm.data import Mixup
from timm.data.random_erasing import RandomErasing
from timm.loss import SoftTargetCrossEntropy

from ...data.constants import IMAGENET_MEAN, IMAGENET_STD
from ...models.classifier import ViTClassifier
from ...models.factory import vit_size
from ..encoder_init import init_encoder_from_cfg
from ..nonfinite import FiniteLossModel
from ..registry import MODELS


@MODELS.register_module()
class MAEClsDataPreprocessor(ImgDataPreprocessor):
    """Normalise on the device, then (training only) timm's random erasing and mixup/cutmix.

    Random erasing runs per sample on the normalised batch, as in timm's GPU prefetch path;
    mixup/cutmix (timm ``Mixup``, which also applies the label smoothing) turns
    ``data_samples['label']`` (B,) into soft targets (B, num_classes) that sum to one.

    Args:
        num_classes: labels must lie in [0, num_classes); set from the classifier.
        mean: per-channel mean of the normalisation, 0-255 RGB.
        std: per-channel std of the normalisation, 0-255 RGB.
        random_erasing: kwargs of ``timm.data.random_erasing.RandomErasing`` or None.
        mixup: kwargs of ``timm.data.Mixup`` (without ``num_classes``) or None.
        **kwargs: ``ImgDataPreprocessor``'s.
    """

    def __init__(
        self,
        num_classes: int,
        mean: tuple[float, ...] = IMAGENET_MEAN,
        std: tuple[float, ...] = IMAGENET_STD,
        random_erasing: dict | None = None,
        mixup: dict | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(mean=mean, std=std, **kwargs)
        self.num_classes = num_classes
        self.random_erasing = (
            RandomErasing(**{'device': 'cpu', **random_erasing}) if random_erasing else None
        )
        self.mixup = Mixup(num_classes=num_classes, **mixup) if mixup else None

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalise ``data['inputs']`` to (B, 3, H, W) float; erase and mix when training.

        Returns:
            ``data`` with normalised ``inputs`` and, under mixup, ``data_samples['label']``
            as (B, num_classes) soft targets.

        Raises:
            ValueError: a label outside [0, num_classes), or an odd batch under mixup.
        """
        data = super().forward(data, training)
        labels = data['data_samples']['label']
        bad = (labels < 0) | (labels >= self.num_classes)
        if bad.any():
            raise ValueError(
                f'label {labels[bad][0].item()} is outside [0, {self.num_classes}): a '
                'classification dataset needs data_root/<split>/<class>/*.jpg with at most '
                'num_classes class folders (-1 = an image outside any class folder)'
            )
        if training:
            inputs = data['inputs']
            if self.random_erasing is not None:
                self.random_erasing.device = inputs.device  # noise is drawn where the batch is
                inputs = self.random_erasing(inputs)
            if self.mixup is not None:
                if inputs.shape[0] % 2:
                    raise ValueError(
                        f'mixup/cutmix needs an even batch, got {inputs.shape[0]}; '
                        'keep drop_last=True in the train dataloader'
                    )
                inputs, data['data_samples']['label'] = self.mixup(inputs, labels)
            data['inputs'] = inputs
        return data


@MODELS.register_module()
class MAEClassifier(FiniteLossModel):
    """Fine-tuning, partial fine-tuning and linear probing of an MAE encoder.

    Holds the pure-torch ``ViTClassifier`` (checkpoint keys ``classifier.vit.*``, timm names).
    Pretrained MAE weights of any format the plugin reads come from
    ``init_cfg=dict(type='Pretrained', checkpoint=PATH)``: the position table is resampled to
    the input grid and the load report is logged.

    Args:
        arch: 'tiny' | 'base' | 'large' | 'huge', or a dict of ViT sizes (patch_size,
            embed_dim, depth, num_heads).
        num_classes: classes of the head.
        img_size: input side in pixels.
        pool: 'avg' (fine-tuning) or 'cls' (linear probing), as ``ViTClassifier``'s.
        drop_path_rate: stochastic depth of the last block.
        head_bn: BatchNorm before the head (linear probing).
        head_init_std: trunc-normal std of the head weight.
        trainable_blocks: as ``ViTClassifier``'s: None trains all, 0 freezes the encoder.
        label_smoothing: of the cross-entropy on hard labels (with mixup, ``Mixup`` smooths).
        data_preprocessor: ``MAEClsDataPreprocessor`` arguments (``num_classes`` set from here).
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH)`` to load an MAE encoder.
    """

    def __init__(
        self,
        arch: str | dict = 'base',
        num_classes: int = 1000,
        img_size: int = 224,
        pool: str = 'avg',
        drop_path_rate: float = 0.1,
        head_bn: bool = False,
        head_init_std: float = 2e-5,
        trainable_blocks: int | None = None,
        label_smoothing: float = 0.0,
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        preprocessor = dict(type='MAEClsDataPreprocessor', **(data_preprocessor or {}))
        preprocessor.setdefault('num_classes', num_classes)
        super().__init__(data_preprocessor=preprocessor, init_cfg=init_cfg)
        self.classifier = ViTClassifier(
            num_classes,
            img_size=img_size,
            pool=pool,
            drop_path_rate=drop_path_rate,
            head_bn=head_bn,
            head_init_std=head_init_std,
            trainable_blocks=trainable_blocks,
            **vit_size(arch),
        )
        self.label_smoothing = label_smoothing
        self.soft_target_loss = SoftTargetCrossEntropy()

    def init_weights(self) -> None:
        """Load the pretrained encoder named by ``init_cfg``."""
        init_encoder_from_cfg(self, self.classifier)

    def forward(
        self, inputs: torch.Tensor, data_samples: dict | None = None, mode: str = 'tensor'
    ) -> Any:
        """Classify ``inputs`` (B, 3, H, W) float, normalised.

        Args:
            inputs: the preprocessed batch.
            data_samples: ``label``, (B,) int64 or (B, num_classes) soft targets, and, for
                ``'predict'``, ``unreadable`` paths.
            mode: ``'tensor'``, ``'loss'`` or ``'predict'``.

        Returns:
            (B, num_classes) logits (``'tensor'``); ``dict(loss=...)`` (``'loss'``); one dict
            of ``pred_score`` (num_classes,), ``gt_label`` and ``unreadable`` per sample
            (``'predict'``).

        Raises:
            ValueError: an unknown ``mode``.
        """
        logits = self.classifier(inputs)
        if mode == 'tensor':
            return logits
        labels = data_samples['label']
        if mode == 'loss':
            if labels.ndim == 2:  # soft targets from mixup/cutmix
                loss = self.soft_target_loss(logits, labels)
            else:
                loss = F.cross_entropy(logits, labels, label_smoothing=self.label_smoothing)
            return dict(loss=loss)
        if mode == 'predict':
            scores = logits.float().softmax(dim=1)
            # the evaluation dataset's mark of an unreadable image: the metric leaves it out
            unreadable = data_samples.get('unreadable') or [''] * len(scores)
            return [
                dict(pred_score=s, gt_label=int(g), unreadable=u)
                for s, g, u in zip(scores, labels, unreadable, strict=True)
            ]
        raise ValueError(f"mode must be 'loss', 'tensor' or 'predict', got {mode!r}")
