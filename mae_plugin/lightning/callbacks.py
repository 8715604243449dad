"""Side work of a pretraining run: reconstruction pictures and the kNN monitor.

Both compute on every rank (a few images; under FSDP every rank must take part in a forward)
and write or log on rank 0 only. What they draw and measure is ``mae_plugin.monitor``'s, the
same as the MMEngine hooks'; these callbacks say when, and where it goes.
"""

from __future__ import annotations

import io
import os
from typing import Any

import pytorch_lightning as pl
import torch
from PIL import Image
from pytorch_lightning.loggers import TensorBoardLogger
from pytorch_lightning.utilities import rank_zero_info, rank_zero_warn

from ..data.constants import IMAGENET_MEAN, IMAGENET_STD
from ..fileio import atomic_write_bytes
from ..monitor.knn import KNNProbe
from ..monitor.layout import labelled_grid
from ..monitor.panels import draw_reconstructions
from ..monitor.views import picture_batch


class _EveryNSteps(pl.Callback):
    """Runs ``_run`` every ``every_n_steps`` optimizer steps and once after training."""

    def __init__(self, every_n_steps: int) -> None:
        if every_n_steps < 1:
            raise ValueError(f'every_n_steps must be a positive integer, got {every_n_steps}')
        self.every_n_steps = every_n_steps
        self._last_step = -1

    def _maybe_run(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        step = trainer.global_step
        if step != self._last_step:  # with accumulation, several batches share a step
            self._last_step = step
            self._run(trainer, pl_module, step)

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        """Run at every ``every_n_steps``-th optimizer step, once per step."""
        if trainer.global_step > 0 and trainer.global_step % self.every_n_steps == 0:
            self._maybe_run(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Run on the final weights, unless that step just ran."""
        self._maybe_run(trainer, pl_module)

    def _run(self, trainer: pl.Trainer, pl_module: pl.LightningModule, step: int) -> None:
        raise NotImplementedError


class ReconstructionCallback(_EveryNSteps):
    """Reconstruction pictures of fixed training images, as PNG files and to TensorBoard.

    Every ``every_n_steps`` optimizer steps and after training, it reconstructs the first
    ``num_images`` training images (resize + centre crop, fixed masks from ``seed``): one row
    per image, original | masked | reconstruction | reconstruction + visible, each panel
    enlarged to at least 224 px under a header naming the columns (the MMEngine hook's picture,
    ``monitor.layout.labelled_grid``). Written as ``<dirpath>/reconstruction_<step>.png``, and to
    the logger when it is TensorBoard.

    Args:
        every_n_steps: optimizer steps between pictures.
        num_images: images (rows) per picture.
        seed: seed of the fixed masks.
        dirpath: the pictures' folder; None: ``<log dir>/reconstructions``.
    """

    def __init__(
        self,
        every_n_steps: int = 5000,
        num_images: int = 4,
        seed: int = 0,
        dirpath: str | None = None,
    ) -> None:
        super().__init__(every_n_steps)
        self.num_images, self.seed, self.dirpath = num_images, seed, dirpath
        self._batch: tuple[torch.Tensor, torch.Tensor] | None = None

    def fixed_batch(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The first readable training images and their fixed masks, read once.

        Returns:
            uint8 images (N, 3, H, W) and bool masks (N, L), True = masked.

        Raises:
            ValueError: the run has no ``MAEDataModule`` to take the images from.
        """
        if self._batch is None:
            samples = getattr(trainer.datamodule, 'train_set', None)
            if samples is None:
                raise ValueError(
                    'ReconstructionCallback draws the training images of '
                    'MAEDataModule; this run has no MAEDataModule'
                )
            mae = pl_module.mae
            grid = mae.encoder.grid_size
            self._batch = picture_batch(
                ((path, path) for path, _ in samples.samples),
                grid[0] * mae.patch_size,
                grid,
                mae.mask_ratio,
                self.num_images,
                self.seed,
                rank_zero_warn,
            )
        return self._batch

    def picture(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> torch.Tensor:
        """(N*H, 4*W, 3) uint8 grid of the fixed batch, panels at the model's size.

        The MMEngine hook's ``reconstruction_grid``; the files hold it laid out by
        ``labelled_grid``.
        """
        images, masks = self.fixed_batch(trainer, pl_module)
        return draw_reconstructions(
            pl_module,
            pl_module.mae,
            images,
            masks,
            lambda batch: pl_module.normalize(batch.to(pl_module.device)),
            IMAGENET_MEAN,
            IMAGENET_STD,
        )

    def _run(self, trainer: pl.Trainer, pl_module: pl.LightningModule, step: int) -> None:
        rows = len(self.fixed_batch(trainer, pl_module)[0])
        if not rows:
            return  # no readable training image: no picture, the run goes on
        grid = self.picture(trainer, pl_module)  # every rank: a sharded model's forward
        # trainer.log_dir is a broadcast under DDP: every rank asks
        folder = self.dirpath or os.path.join(
            trainer.log_dir or trainer.default_root_dir, 'reconstructions'
        )
        if not trainer.is_global_zero:
            return
        picture = labelled_grid(grid.numpy(), rows=rows)  # the layout only where it is written
        buffer = io.BytesIO()
        Image.fromarray(picture).save(buffer, format='PNG')
        atomic_write_bytes(buffer.getvalue(), os.path.join(folder, f'reconstruction_{step}.png'))
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image('reconstruction', picture, step, dataformats='HWC')


class KNNMonitor(_EveryNSteps):
    """Log the weighted kNN top-1 of the encoder's features on a labelled folder as ``knn_top1``.

    Every ``every_n_steps`` optimizer steps and after training: cosine-similarity kNN of
    unmasked encoder features on a small labelled folder (``data_root/train/<class>/*``,
    ``data_root/val/<class>/*``; resize + centre crop). Validation labels follow the training
    split's class list.

    Args:
        data_root: folder holding the two splits.
        every_n_steps: optimizer steps between measurements.
        k: neighbours that vote.
        temperature: softness of the vote weights.
        pool: 'cls' (the cls token) or 'avg' (the mean of the patch tokens).
        batch_size: images per encoder forward.
        train_prefix: sub-folder of the neighbours.
        val_prefix: sub-folder of the scored images.
    """

    def __init__(
        self,
        data_root: str,
        every_n_steps: int = 5000,
        k: int = 20,
        temperature: float = 0.07,
        pool: str = 'cls',
        batch_size: int = 64,
        train_prefix: str = 'train',
        val_prefix: str = 'val',
    ) -> None:
        super().__init__(every_n_steps)
        self.probe = KNNProbe(
            data_root, k, temperature, pool, batch_size, train_prefix, val_prefix, rank_zero_warn
        )
        self.history: list[tuple[int, float]] = []

    def evaluate(self, pl_module: pl.LightningModule) -> float:
        """The current encoder's kNN top-1 in %, measured on this rank."""

        def normalize(images: torch.Tensor) -> torch.Tensor:
            return pl_module.normalize(images.to(pl_module.device))

        return self.probe.evaluate(pl_module.mae.encoder, normalize)

    def _run(self, trainer: pl.Trainer, pl_module: pl.LightningModule, step: int) -> None:
        accuracy = self.evaluate(pl_module)
        if not trainer.is_global_zero:
            return
        self.history.append((step, accuracy))
        for logger in trainer.loggers:
            logger.log_metrics({'knn_top1': accuracy}, step=step)
        rank_zero_info(f'{self.probe.describe()}: {accuracy:.2f}% at step {step}')
