"""Reconstruction pictures during training, through MMEngine's visualizer backends."""
from __future__ import annotations

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

from ..models.masking import make_mask
from ..models.visual import reconstruction_panels, to_uint8_grid
from .registry import HOOKS
from .transforms import MAELoadImage


@HOOKS.register_module()
class ReconstructionVisHook(Hook):
    """Every ``interval`` iterations and after training, draw reconstructions of the first
    ``num_images`` training images (resize + centre crop, fixed masks from ``seed``) and send the
    grid to ``runner.visualizer`` (local PNG files by default; TensorBoard when configured).
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
            size = model.mae.encoder.grid_size[0] * model.mae.patch_size
            loader, images = MAELoadImage(), []
            for idx in range(min(self.num_images, len(dataset))):
                img = loader(dict(img_path=dataset.get_data_info(idx)['img_path']))['img']
                img = F.center_crop(F.resize(img, size, InterpolationMode.BICUBIC), size)
                images.append(torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1))
            rng = np.random.default_rng(self.seed)
            masks = [make_mask('random', model.mae.encoder.grid_size, model.mae.mask_ratio, rng)
                     for _ in images]
            self._batch = (torch.stack(images), torch.stack(masks))
        return self._batch

    def _draw(self, runner, step: int) -> None:
        if step == self._last_step:
            return
        self._last_step = step
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        images, masks = self._fixed_batch(runner, model)
        was_training = model.training
        model.eval()
        with torch.no_grad():
            data = model.data_preprocessor(dict(inputs=images, data_samples=None), False)
            inputs = data['inputs']
            output = model.mae(inputs, masks.to(inputs.device))
            panels = reconstruction_panels(model.mae, inputs, output.pred, output.mask)
        model.train(was_training)
        preprocessor = model.data_preprocessor
        grid = to_uint8_grid(panels, preprocessor.mean.flatten().tolist(),
                             preprocessor.std.flatten().tolist())
        runner.visualizer.add_image('reconstruction', grid.numpy(), step=step)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.every_n_train_iters(runner, self.interval) and runner.rank == 0:
            self._draw(runner, runner.iter + 1)  # iterations done, as the log counts them

    def after_train(self, runner) -> None:
        if runner.rank == 0:
            self._draw(runner, runner.iter)
