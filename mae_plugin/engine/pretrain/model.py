"""MMEngine adapter of the core MAE: ``MAEPretrainModel`` + ``MAEDataPreprocessor``."""

from __future__ import annotations

from typing import Any

import torch
from mmengine.logging import print_log
from mmengine.model import ImgDataPreprocessor

from ...checkpoints import load_mae_weights
from ...data.constants import IMAGENET_MEAN, IMAGENET_STD
from ...models import MAEPixelDecoder, MaskedAutoencoder, MaskedViTEncoder, NormalizedPixelLoss
from ..nonfinite import FiniteLossModel
from ..registry import MODELS

# The pure-torch components, registered as they are: configs build them by name.
MODELS.register_module(module=MaskedViTEncoder)
MODELS.register_module(module=MAEPixelDecoder)
MODELS.register_module(module=NormalizedPixelLoss)


@MODELS.register_module()
class MAEDataPreprocessor(ImgDataPreprocessor):
    """MMEngine's image preprocessor with ImageNet mean/std (RGB, 0-255 scale) as defaults.

    uint8 (B, 3, H, W) in, float (B, 3, H, W) normalised out, on the training device.

    Args:
        mean: per-channel mean, 0-255 RGB.
        std: per-channel std, 0-255 RGB.
        **kwargs: ``ImgDataPreprocessor``'s.
    """

    def __init__(
        self,
        mean: tuple[float, ...] = IMAGENET_MEAN,
        std: tuple[float, ...] = IMAGENET_STD,
        **kwargs: Any,
    ) -> None:
        super().__init__(mean=mean, std=std, **kwargs)


@MODELS.register_module()
class MAEPretrainModel(FiniteLossModel):
    """MAE pretraining model for MMEngine's runner (stops on a non-finite loss).

    Builds the encoder, decoder and loss from configs and holds the pure-torch
    ``MaskedAutoencoder`` as ``self.mae`` (checkpoint keys: ``mae.encoder.vit.*`` in timm names,
    ``mae.decoder.*`` in official names without their ``decoder_`` prefix).

    Args:
        encoder: ``MaskedViTEncoder`` config.
        decoder: ``MAEPixelDecoder`` arguments; grid, patch size and input width default to
            the encoder's.
        loss: loss config; None: ``NormalizedPixelLoss`` (norm-pix).
        mask_ratio: share of masked patches when the model draws the mask.
        data_preprocessor: None: ``MAEDataPreprocessor``.
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH[, format=NAME])``, or None.
    """

    def __init__(
        self,
        encoder: dict,
        decoder: dict | None = None,
        loss: dict | None = None,
        mask_ratio: float = 0.75,
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor or dict(type='MAEDataPreprocessor'),
            init_cfg=init_cfg,
        )
        enc = MODELS.build(encoder)
        dec_cfg = dict(type='MAEPixelDecoder', **(decoder or {}))
        dec_cfg.setdefault('grid_size', enc.grid_size)
        dec_cfg.setdefault('patch_size', enc.patch_size)
        dec_cfg.setdefault('encoder_dim', enc.embed_dim)
        self.mae = MaskedAutoencoder(
            enc,
            MODELS.build(dec_cfg),
            MODELS.build(loss or dict(type='NormalizedPixelLoss')),
            mask_ratio,
        )

    def init_weights(self) -> None:
        """Load ``init_cfg``'s checkpoint, if any, through the strict interop loader.

        The core initialises itself when built; ``init_cfg=dict(type='Pretrained',
        checkpoint=PATH)`` then loads PATH through the interop loader (any format the converters
        read; position tables resampled; an encoder-only file leaves the decoder fresh and says
        so; a misfit is an error), never through MMEngine's warn-and-continue loading.

        Raises:
            ValueError: an ``init_cfg`` of another type, or a checkpoint that does not fit.
        """
        init_cfg = dict(self.init_cfg or {})
        if not init_cfg:
            return super().init_weights()
        if init_cfg.get('type') != 'Pretrained' or not init_cfg.get('checkpoint'):
            raise ValueError(
                "MAEPretrainModel.init_cfg supports dict(type='Pretrained', "
                f'checkpoint=PATH[, format=NAME]) only, got {init_cfg!r}'
            )
        report = load_mae_weights(self.mae, init_cfg['checkpoint'], fmt=init_cfg.get('format'))
        print_log(f'MAEPretrainModel: {report.summary()}', logger='current')
        self._is_init = True

    def forward(
        self, inputs: torch.Tensor, data_samples: dict | None = None, mode: str = 'tensor'
    ) -> Any:
        """Run the MAE on a preprocessed batch, or the unmasked encoder alone.

        Args:
            inputs: (B, 3, H, W) float, normalised.
            data_samples: a dict whose ``mask`` (B, L) bool came from the pipeline (absent:
                the model draws one), and ``num_visible`` for a mask at another ratio than the
                config's (the pictures' tool).
            mode: ``'loss'``, ``'tensor'``, ``'predict'`` or ``'features'``.

        Returns:
            ``dict(loss=...)`` for ``'loss'``; the ``MAEOutput`` for ``'tensor'`` and
            ``'predict'``; for ``'features'`` the (B, 1 + L, D) tokens of the unmasked encoder
            (the kNN monitor's: under FSDP2 a forward must enter through the root, not a
            child module).

        Raises:
            ValueError: an unknown ``mode``.
        """
        if mode == 'features':  # the monitors' route: through the root, as FSDP2 requires
            return self.mae.encoder(inputs)
        samples = data_samples if isinstance(data_samples, dict) else {}
        # 'num_visible': a mask at another ratio than the config's (the pictures' tool)
        output = self.mae(inputs, samples.get('mask'), samples.get('num_visible'))
        if mode == 'loss':
            return dict(loss=output.loss)
        if mode in ('tensor', 'predict'):
            return output
        raise ValueError(f"mode must be 'loss', 'tensor', 'predict' or 'features', got {mode!r}")
