"""Reconstruction pictures: a function for tools and the API, a hook for training runs."""

from __future__ import annotations

import numpy as np
import torch
from mmengine.hooks import Hook

from ...data.image import read_center_crop
from ...data.picture import labelled_grid
from ...models.masking import fixed_masks, keep_count
from ...models.visual import reconstruction_panels, to_uint8_grid
from ..registry import HOOKS
from .ranks import bare_model, computes_here


@torch.no_grad()
def reconstruction_grid(model, images: torch.Tensor, masks: torch.Tensor) -> np.ndarray:
    """One row per image: original | masked | reconstruction | reconstruction + visible.

    Args:
        model: an ``MAEPretrainModel``.
        images: (B, 3, H, W) uint8 RGB at the model's input size.
        masks: (B, L) bool, True = masked.

    Returns:
        (B*H, 4*W, 3) uint8 image, norm-pix undone per patch (real colours).
    """
    was_training = model.training
    model.eval()
    data = model.data_preprocessor(dict(inputs=images, data_samples=None), False)
    inputs = data['inputs']
    # through the root module's forward (FSDP2 gathers sharded weights there)
    samples = dict(mask=masks.to(inputs.device), num_visible=keep_count(masks))
    output = model(inputs, samples, mode='tensor')
    panels = reconstruction_panels(model.mae, inputs, output.pred, output.mask)
    model.train(was_training)
    prep = model.data_preprocessor
    return to_uint8_grid(panels, prep.mean.flatten().tolist(), prep.std.flatten().tolist()).numpy()


def reconstruction_picture(model, images: torch.Tensor, masks: torch.Tensor) -> np.ndarray:
    """:func:`reconstruction_grid` as people look at it: every panel enlarged (nearest, an
    integer factor) to at least 224 px, under a header naming the four columns.

    Returns:
        (30 + B*H*f, 4*W*f, 3) uint8, f = ``upscale_factor(H, W)`` (4 for the 64-px demo).
    """
    return labelled_grid(reconstruction_grid(model, images, masks), rows=len(images))


@HOOKS.register_module()
class ReconstructionVisHook(Hook):
    """Every ``interval`` iterations and after training, draw reconstructions of the first
    ``num_images`` training images (resize + centre crop, fixed masks from ``seed``) and send the
    labelled picture (:func:`reconstruction_picture`) to ``runner.visualizer`` (local PNG files
    by default; TensorBoard when configured).
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
            size = grid[0] * model.mae.patch_size
            count = min(self.num_images, len(dataset))
            infos = [dataset.get_data_info(i) for i in range(count)]
            # a shard stream gives the encoded file (img_bytes) instead of a path
            images = torch.stack(
                [
                    read_center_crop(info.get('img_bytes', info.get('img_path')), size)
                    for info in infos
                ]
            )
            masks = fixed_masks(grid, count, model.mae.mask_ratio, 'random', self.seed)
            self._batch = (images, masks)
        return self._batch

    def _draw(self, runner, step: int) -> None:
        if step == self._last_step or not computes_here(runner):
            return
        self._last_step = step
        model = bare_model(runner)
        picture = reconstruction_picture(model, *self._fixed_batch(runner, model))
        if runner.rank == 0:  # every rank of a sharded model drew it; rank 0 writes it
            runner.visualizer.add_image('reconstruction', picture, step=step)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.every_n_train_iters(runner, self.interval):
            self._draw(runner, runner.iter + 1)  # iterations done, as the log counts them

    def after_train(self, runner) -> None:
        self._draw(runner, runner.iter)
