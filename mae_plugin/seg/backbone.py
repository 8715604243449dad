"""``MAESegViT``: the MAE ViT as an mmseg backbone (BEiT-style relative position bias)."""

from __future__ import annotations

from collections.abc import Sequence

from mmengine.model import BaseModule
from torch import Tensor

from ..engine.encoder_init import init_encoder_from_cfg, pretrained_as_init_cfg
from ..engine.registry import MODELS
from ..models.factory import vit_size
from ..models.seg_vit import RelPosViTBackbone

# mmseg's segmentors hand the model-level ``pretrained`` to the backbone
HINT = (
    ". mmseg's segmentors pass the model-level pretrained to the backbone: on a config that sets "
    "it (mmseg's MAE configs do), write model=dict(pretrained=None, ...)"
)


@MODELS.register_module()
class MAESegViT(BaseModule):
    """Multi-block feature maps of an MAE ViT for a pyramid neck (mmseg's ``Feature2Pyramid``).

    Holds the pure-torch ``RelPosViTBackbone`` as ``encoder`` (keys ``encoder.vit.*``, timm
    names). ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` loads an MAE checkpoint of any
    format the plugin reads: the position table is resampled to ``img_size``, the relative
    position biases and layer scales stay new, the final norm is dropped; the log says so.
    Inputs off the patch grid are zero-padded right and bottom.

    Args:
        arch: 'base' | 'large' | 'huge' | 'tiny', or a dict of ViT sizes.
        img_size: training crop.
        drop_path_rate: stochastic depth of the last block.
        out_indices: blocks to return ((3, 5, 7, 11) for B).
        rel_pos_bias: a BEiT-style relative position bias per block.
        layer_scale_init: layer scale init value (None: no layer scale).
        grad_checkpointing: recompute blocks in backward.
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH)`` to load an MAE encoder.
        pretrained: mmseg's older spelling of ``init_cfg``, which ``EncoderDecoder`` fills from
            the model-level ``pretrained``: a path is ``init_cfg=dict(type='Pretrained',
            checkpoint=path)``; with ``init_cfg`` as well it is an error naming both.
    """

    def __init__(
        self,
        arch: str | dict = 'base',
        img_size: int | tuple[int, int] = 512,
        drop_path_rate: float = 0.1,
        out_indices: Sequence[int] = (3, 5, 7, 11),
        rel_pos_bias: bool = True,
        layer_scale_init: float | None = None,
        grad_checkpointing: bool = False,
        init_cfg: dict | None = None,
        pretrained: str | None = None,
    ) -> None:
        super().__init__(init_cfg=pretrained_as_init_cfg('MAESegViT', pretrained, init_cfg, HINT))
        self.encoder = RelPosViTBackbone(
            img_size=img_size,
            drop_path_rate=drop_path_rate,
            out_indices=out_indices,
            rel_pos_bias=rel_pos_bias,
            layer_scale_init=layer_scale_init,
            grad_checkpointing=grad_checkpointing,
            **vit_size(arch),
        )

    def init_weights(self) -> None:
        """Load the MAE encoder ``init_cfg`` names; the log gets the load report."""
        init_encoder_from_cfg(self, self.encoder)

    def forward(self, images: Tensor) -> tuple[Tensor, ...]:
        """(B, 3, H, W) float -> one (B, D, ceil(H/p), ceil(W/p)) map per ``out_indices`` entry."""
        return tuple(self.encoder(images))
