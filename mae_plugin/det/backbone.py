"""``MAEViTDet`` backbone, ``MAESimpleFPN`` neck and ``LN2d`` for mmdet configs."""

from __future__ import annotations

from collections.abc import Sequence

from mmengine.model import BaseModule
from timm.layers import LayerNorm2d
from torch import Tensor

from ..engine.encoder_init import init_encoder_from_cfg, pretrained_as_init_cfg
from ..engine.registry import MODELS
from ..models.det_vit import SimpleFeaturePyramid, ViTDetBackbone
from ..models.factory import vit_size

# Channel LayerNorm on (B, C, H, W) for mmdet heads: norm_cfg=dict(type='mae_plugin.LN2d').
MODELS.register_module(name='LN2d', module=LayerNorm2d)


@MODELS.register_module()
class MAEViTDet(BaseModule):
    """The MAE ViT with ViTDet's windowed/global attention and decomposed relative positions.

    Holds the pure-torch ``ViTDetBackbone`` as ``encoder`` (keys ``encoder.vit.*``, timm names).
    ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` loads an MAE checkpoint of any format
    the plugin reads: the position table is resampled to ``img_size`` and laid out 2-D, relative
    positions stay new (zeros), the cls token and final norm are dropped; the log says so.
    Inputs off the patch grid are zero-padded right and bottom.

    Args:
        arch: 'base' | 'large' | 'huge' | 'tiny', or a dict of ViT sizes.
        img_size: input the absolute position table is built for (1024 in the recipe).
        window_size: side of the attention windows.
        global_blocks: blocks with global attention; None takes ViTDet's for the depth.
        use_rel_pos: decomposed relative position embeddings in every block.
        drop_path_rate: stochastic depth of the last block.
        grad_checkpointing: recompute blocks in backward (activation memory).
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH)`` to load an MAE encoder.
        pretrained: the OpenMMLab backbones' older spelling of ``init_cfg``: a path is
            ``init_cfg=dict(type='Pretrained', checkpoint=path)``; with ``init_cfg`` as well it
            is an error naming both.
    """

    def __init__(
        self,
        arch: str | dict = 'base',
        img_size: int = 1024,
        window_size: int = 14,
        global_blocks: Sequence[int] | None = None,
        use_rel_pos: bool = True,
        drop_path_rate: float = 0.1,
        grad_checkpointing: bool = False,
        init_cfg: dict | None = None,
        pretrained: str | None = None,
    ) -> None:
        super().__init__(init_cfg=pretrained_as_init_cfg('MAEViTDet', pretrained, init_cfg))
        self.encoder = ViTDetBackbone(
            img_size=img_size,
            window_size=window_size,
            global_blocks=global_blocks,
            use_rel_pos=use_rel_pos,
            drop_path_rate=drop_path_rate,
            grad_checkpointing=grad_checkpointing,
            **vit_size(arch),
        )

    def init_weights(self) -> None:
        """Load the MAE encoder ``init_cfg`` names; the log gets the load report."""
        init_encoder_from_cfg(self, self.encoder)

    def forward(self, images: Tensor) -> tuple[Tensor]:
        """(B, 3, H, W) float -> a one-map tuple ((B, D, ceil(H/p), ceil(W/p)),)."""
        return (self.encoder(images),)


@MODELS.register_module()
class MAESimpleFPN(BaseModule):
    """ViTDet's simple feature pyramid (``models.det_vit.SimpleFeaturePyramid``) for mmdet.

    Strides 4, 8, 16, 32 (+ 64 with ``num_outs=5``) from the backbone's last map.

    Args:
        in_channels: channels of the backbone map (the ViT width).
        out_channels: channels of every pyramid level.
        num_outs: 4 (P2-P5) or 5 (with P6).
        in_stride: stride of the backbone map, the ViT's patch size.
        init_cfg: MMEngine's ``init_cfg``.
    """

    def __init__(
        self,
        in_channels: int = 768,
        out_channels: int = 256,
        num_outs: int = 5,
        in_stride: int = 16,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.pyramid = SimpleFeaturePyramid(in_channels, out_channels, num_outs, in_stride)

    def forward(self, inputs: Sequence[Tensor]) -> tuple[Tensor, ...]:
        """The backbone's maps (the last one, (B, C, h, w), is used) -> ``num_outs`` maps."""
        return self.pyramid(inputs[-1])
