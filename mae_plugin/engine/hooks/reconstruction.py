"""Reconstruction pictures: a function for tools and the API, a hook for training runs.

They say what to draw and when; the drawing is ``mae_plugin.monitor``'s.
"""

from __future__ import annotations

import numpy as np
import torch
from mmengine.hooks import Hook

from ...monitor.layout import labelled_grid
from ...monitor.panels import draw_reconstructions
from ...monitor.views import picture_batch
from ..pretrain.dataset import log_warning
from ..registry import HOOKS
from .ranks import bare_model, computes_here, normalizer


def reconstruction_grid(model, images: torch.Tensor, masks: torch.Tensor) -> np.ndarray:
    """One row per image: original | masked | reconstruction | reconstruction + visible.

    Args:
        model: an ``MAEPretrainModel``.
        images: (B, 3, H, W) uint8 RGB at the model's input size.
        masks: (B, L) bool, True = masked.

    Returns:
        (B*H, 4*W, 3) uint8 image, norm-pix undone per patch (real colours).
    """

    def forward(inputs: torch.Tensor, masks: torch.Tensor, num_visible: int):
        # through the root module's forward (FSDP2 gathers sharded weights there)
        return model(inputs, dict(mask=masks, num_visible=num_visible), mode='tensor')

    prep = model.data_preprocessor
    mean, std = prep.mean.flatten().tolist(), prep.std.flatten().tolist()
    grid = draw_reconstructions(
        model, model.mae, images, masks, normalizer(model), mean, std, forward
    )
    return grid.numpy()


def reconstruction_picture(model, images: torch.Tensor, masks: torch.Tensor) -> np.ndarray:
    """:func:`reconstruction_grid` as people look at it, panels enlarged under named columns.

    Every panel is enlarged (nearest, an integer factor) to at least 224 px, set apart from
    the others by white gaps, under a header naming the four columns.

    Args:
        model: an ``MAEPretrainModel``.
        images: (B, 3, H, W) uint8 RGB at the model's input size.
        masks: (B, L) bool, True = masked.

    Returns:
        (H', W', 3) uint8 laid out by :func:`~mae_plugin.monitor.layout.labelled_grid`: B rows
        of four panels, each enlarged by ``upscale_factor(H, W)``, under a 30-px header.
    """
    return labelled_grid(reconstruction_grid(model, images, masks), rows=len(images))


def image_source(info: dict) -> tuple[str, str | bytes]:
    """(name, path or encoded bytes) of a dataset's data info.

    A shard stream gives the encoded file (``img_bytes``, named ``img_name``) instead of a path.
    """
    name = info.get('img_name') or info.get('img_path', '')
    return name, info.get('img_bytes', info.get('img_path'))


@HOOKS.register_module()
class ReconstructionVisHook(Hook):
    """Draw reconstructions of fixed training images into the run's visualizer.

    Every ``interval`` iterations and after training, it draws the first ``num_images``
    training images (resize + centre crop, fixed masks from ``seed``) and sends the labelled
    picture (:func:`reconstruction_picture`) to ``runner.visualizer`` (local PNG files by
    default; TensorBoard when configured). Unreadable images are passed over for the next
    readable ones (said once in the log): a picture never ends a run.

    Args:
        interval: iterations between pictures.
        num_images: images (rows) per picture.
        seed: seed of the fixed masks.
    """

    priority = 'LOW'

    def __init__(self, interval: int = 1000, num_images: int = 4, seed: int = 0) -> None:
        self.interval = interval
        self.num_images = num_images
        self.seed = seed
        self._batch: tuple[torch.Tensor, torch.Tensor] | None = None
        self._last_step = -1

    def _fixed_batch(self, runner, model) -> tuple[torch.Tensor, torch.Tensor]:
        if self._batch is None:
            dataset = runner.train_dataloader.dataset
            grid = model.mae.encoder.grid_size
            infos = map(dataset.get_data_info, range(len(dataset)))  # lazily, as far as needed
            self._batch = picture_batch(
                map(image_source, infos),
                grid[0] * model.mae.patch_size,
                grid,
                model.mae.mask_ratio,
                self.num_images,
                self.seed,
                log_warning,
            )
        return self._batch

    def _draw(self, runner, step: int) -> None:
        if step == self._last_step or not computes_here(runner):
            return
        self._last_step = step
        model = bare_model(runner)
        images, masks = self._fixed_batch(runner, model)
        if not len(images):
            return
        picture = reconstruction_picture(model, images, masks)
        if runner.rank == 0:  # every rank of a sharded model drew it; rank 0 writes it
            runner.visualizer.add_image('reconstruction', picture, step=step)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Draw every ``interval`` iterations, labelled with the iterations done."""
        if self.every_n_train_iters(runner, self.interval):
            self._draw(runner, runner.iter + 1)  # iterations done, as the log counts them

    def after_train(self, runner) -> None:
        """Draw the final model (skipped when that step was just drawn)."""
        self._draw(runner, runner.iter)
