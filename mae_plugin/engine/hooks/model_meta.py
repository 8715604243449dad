"""``MAEModelMetaHook``: what the MAE is beyond its weights, into every checkpoint's ``meta``."""

from __future__ import annotations

from mmengine.hooks import Hook

from ...checkpoints.model_meta import GRID_META_KEY, MODEL_META_KEY, model_meta
from ..registry import HOOKS
from .ranks import bare_model


@HOOKS.register_module()
class MAEModelMetaHook(Hook):
    """Write what the weights do not say into every checkpoint's ``meta``, as plain data.

    ``meta['mae_model']`` (input size, patch size, widths, depths, head counts, mask ratio,
    norm-pix; :func:`~mae_plugin.checkpoints.model_meta.model_meta`) and
    ``meta['pos_embed_grid']``, so that a converter needs no flag for them
    (``convert_checkpoint.py --to hf``). A model without ``.mae`` (a classifier) is left alone.
    """

    priority = 'LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Add ``mae_model`` and ``pos_embed_grid`` to ``checkpoint['meta']``."""
        mae = getattr(bare_model(runner), 'mae', None)
        if mae is None:
            return
        meta = checkpoint.setdefault('meta', {})
        meta[MODEL_META_KEY] = model_meta(mae)
        meta[GRID_META_KEY] = [int(v) for v in mae.encoder.grid_size]
