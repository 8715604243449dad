"""Representation monitor: weighted kNN top-1 of encoder features during pretraining."""

from __future__ import annotations

import os

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from ...data.folder import scan_image_folder
from ...data.image import read_center_crop
from ...models.encoder import pool_tokens
from ...models.knn import weighted_knn_top1
from ..pretrain.dataset import log_warning
from ..registry import HOOKS


@HOOKS.register_module()
class KNNMonitorHook(Hook):
    """Before training (``before_train=True``, the default: the starting point a curve needs),
    every ``interval`` epochs (or iterations with ``by_epoch=False``) and after training,
    extract unmasked encoder features of a small labelled image folder
    (``data_root/train/<class>/*``, ``data_root/val/<class>/*``; resize + centre crop) and log
    weighted kNN top-1 (k = 20, temperature 0.07, cosine similarity) as ``knn_top1``.

    Labels are the indices of the training split's class folders; the validation split maps to
    them (a class it lacks moves nothing; a class only it has is an error). Every image must
    lie in a class folder.
    """

    priority = 'LOW'

    def __init__(
        self,
        data_root: str,
        interval: int = 10,
        by_epoch: bool = True,
        k: int = 20,
        temperature: float = 0.07,
        pool: str = 'cls',
        batch_size: int = 64,
        train_prefix: str = 'train',
        val_prefix: str = 'val',
        before_train: bool = True,
    ) -> None:
        if pool not in ('cls', 'avg'):
            raise ValueError(f"pool must be 'cls' or 'avg', got {pool!r}")
        self.data_root = data_root
        self.interval, self.by_epoch = interval, by_epoch
        self.k, self.temperature, self.pool = k, temperature, pool
        self.batch_size = batch_size
        self.prefixes = (train_prefix, val_prefix)
        self.at_start = before_train  # not self.before_train: that is the hook method
        self._images: dict[str, tuple[torch.Tensor, torch.Tensor, list[str]]] = {}
        self._last_step = -1

    def _split(
        self, prefix: str, size: int, classes: list[str] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        """(images (N, 3, size, size) uint8, labels (N,), class list) of one split, read once;
        labels index ``classes`` (the training split's) or, when None, this split's own."""
        if prefix not in self._images:
            folder = os.path.join(self.data_root, prefix)
            samples, classes = scan_image_folder(folder, classes=classes, warn=log_warning)
            unlabelled = [path for path, label in samples if label < 0]
            if unlabelled:
                raise ValueError(
                    f'kNN monitor: {unlabelled[0]!r} is outside the class '
                    f'sub-folders of {folder!r}; every image needs a label'
                )
            images = torch.stack([read_center_crop(path, size) for path, _ in samples])
            labels = torch.tensor([label for _, label in samples])
            self._images[prefix] = (images, labels, classes)
        return self._images[prefix]

    @torch.no_grad()
    def _features(self, model, images: torch.Tensor) -> torch.Tensor:
        feats = []
        for start in range(0, len(images), self.batch_size):
            batch = dict(inputs=images[start : start + self.batch_size], data_samples=None)
            tokens = model.mae.encoder(model.data_preprocessor(batch, False)['inputs'])
            feats.append(pool_tokens(tokens, self.pool))
        return torch.cat(feats).float().cpu()

    def evaluate(self, runner) -> float:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        size = model.mae.encoder.grid_size[0] * model.mae.patch_size
        was_training = model.training
        model.eval()
        train_x, train_y, classes = self._split(self.prefixes[0], size)
        val_x, val_y, _ = self._split(self.prefixes[1], size, classes)
        accuracy = weighted_knn_top1(
            self._features(model, train_x),
            train_y,
            self._features(model, val_x),
            val_y,
            self.k,
            self.temperature,
        )
        model.train(was_training)
        return accuracy

    def _run(self, runner, step: int) -> None:
        if runner.rank != 0 or step == self._last_step:
            return
        self._last_step = step
        accuracy = self.evaluate(runner)
        # one row at the step it was measured (through the message hub the logger would repeat
        # the last value in every later training row, as if measured there)
        runner.visualizer.add_scalars({'knn_top1': accuracy}, step=step)
        print_log(
            f'kNN top-1 (k={self.k}, T={self.temperature}, {self.pool}) on '
            f'{self.data_root!r}: {accuracy:.2f}% at iteration {step}',
            logger='current',
        )

    def before_train(self, runner) -> None:
        if self.at_start:  # step 0, or the resumed iteration (the same weights as its row)
            self._run(runner, runner.iter)

    def after_train_epoch(self, runner) -> None:
        if self.by_epoch and self.every_n_epochs(runner, self.interval):
            self._run(runner, runner.iter)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self.by_epoch and self.every_n_train_iters(runner, self.interval):
            self._run(runner, runner.iter + 1)

    def after_train(self, runner) -> None:
        self._run(runner, runner.iter)
