"""``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` for every model built on an MAE encoder.

MMEngine's own ``PretrainedInit`` would load with its own key matching and would then let timm's
``init_weights`` of the children run; the plugin's models load through the interop loader
instead (any format, weights only, position tables resampled, a report in the log).
"""

from __future__ import annotations

from collections.abc import Sequence

from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import nn

from ..checkpoints.load import LoadReport, load_encoder_weights


def load_pretrained_encoder(
    owner: str,
    init_cfg: dict | None,
    vit: nn.Module,
    grid_size: tuple[int, int],
    new_ok: Sequence[str] = (),
    unused_ok: Sequence[str] = (),
) -> LoadReport | None:
    """Load the checkpoint ``init_cfg`` names into ``vit`` and log the report.

    Args:
        owner: the model's name in the log and in errors.
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH[, format=FMT])``, or None.
        vit: the encoder's timm ViT, loaded in place.
        grid_size: the patch grid the position table is resampled to.
        new_ok: globs of ``vit`` keys the checkpoint may lack (relative position tables,
            heads); reported as left new.
        unused_ok: globs of checkpoint encoder keys ``vit`` has no place for; dropped and
            reported.

    Returns:
        The load report, or None (nothing done) without an ``init_cfg``.
    """
    cfg = dict(init_cfg or {})
    if not cfg:
        return None
    if cfg.get('type') != 'Pretrained':
        raise ValueError(f"{owner}.init_cfg supports type='Pretrained' only, got {cfg!r}")
    if not cfg.get('checkpoint'):
        raise ValueError(f"{owner}: init_cfg=dict(type='Pretrained') needs a checkpoint path")
    report = load_encoder_weights(
        vit, cfg['checkpoint'], grid_size, fmt=cfg.get('format'), new_ok=new_ok, unused_ok=unused_ok
    )
    print_log(f'{owner}: {report.summary()}', logger='current')
    return report


def init_encoder_from_cfg(model: BaseModule, encoder: nn.Module) -> None:
    """``init_weights`` of a model built on an MAE encoder: load what ``model.init_cfg`` names.

    The ViT's own init is done at construction; children are not re-initialised, which would
    overwrite it.

    Args:
        model: the registered model; marked initialised once loaded.
        encoder: its encoder, with ``vit``, ``grid_size``, ``new_keys`` and ``unused_keys``.
    """
    if load_pretrained_encoder(
        type(model).__name__,
        model.init_cfg,
        encoder.vit,
        encoder.grid_size,
        encoder.new_keys,
        encoder.unused_keys,
    ):
        model._is_init = True


def pretrained_as_init_cfg(
    owner: str, pretrained: str | None, init_cfg: dict | None, hint: str = ''
) -> dict | None:
    """The ``init_cfg`` that the OpenMMLab backbones' older spelling ``pretrained=PATH`` means.

    ``pretrained=PATH`` is ``init_cfg=dict(type='Pretrained', checkpoint=PATH)``; None is
    nothing; both set is an error naming both.

    Args:
        owner: the backbone's name in errors.
        pretrained: a checkpoint path, or None.
        init_cfg: the backbone's ``init_cfg``, or None.
        hint: appended to the error, saying how to drop one of the two.
    """
    if pretrained is None:
        return init_cfg
    if not isinstance(pretrained, str):
        raise TypeError(
            f'{owner}: pretrained must be a checkpoint path or None, got {pretrained!r}'
        )
    if init_cfg:
        raise ValueError(
            f'{owner}: pretrained={pretrained!r} and init_cfg={init_cfg!r} are both set; keep '
            f'one{hint}'
        )
    return dict(type='Pretrained', checkpoint=pretrained)
