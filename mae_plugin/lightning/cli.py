"""Lightning's ``LightningCLI`` on ``MAELightningModule`` + ``MAEDataModule``.

``python tools/train_lightning.py fit --config configs/lightning/mae_vit-b_800e.yaml`` runs it.
What it adds to the stock CLI:

- the data's ``img_size``, ``patch_size`` and ``mask_ratio`` are linked from the model's (one
  source, no mismatch to make);
- seed 0 unless ``--seed_everything`` says otherwise;
- without a ``trainer.logger``, one TensorBoard (else CSV) logger whose folder is
  ``trainer.default_root_dir`` itself: logs, ``config.yaml``, ``checkpoints/`` (so
  ``--ckpt_path last`` finds ``checkpoints/last.ckpt`` of the same folder on every resume) and
  ``reconstructions/`` of one run stay together, as an MMEngine work dir does.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from pytorch_lightning import Trainer
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI
from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger

from ..models.factory import vit_size
from .data import MAEDataModule
from .module import MAELightningModule


def patch_size_of(arch: str, patch_size: int | None) -> int:
    """The patch size the model builds: ``patch_size``, else the arch's."""
    return patch_size if patch_size is not None else vit_size(arch)['patch_size']


def run_logger(root: str) -> Logger:
    """TensorBoard logger (CSV without tensorboard) writing straight into ``root``."""
    if importlib.util.find_spec('tensorboard') or importlib.util.find_spec('tensorboardX'):
        return TensorBoardLogger(save_dir=root, name='', version='')
    return CSVLogger(save_dir=root, name='', version='')


class MAELightningCLI(LightningCLI):
    """``LightningCLI(MAELightningModule, MAEDataModule)``; see the module docstring."""

    def __init__(self, args: Any = None, run: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault('seed_everything_default', 0)
        kwargs.setdefault('save_config_kwargs', {'overwrite': True})  # a resume rewrites it
        super().__init__(
            MAELightningModule,
            MAEDataModule,
            args=args,
            run=run,
            auto_configure_optimizers=False,
            **kwargs,
        )

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Link the data's ``img_size``, ``mask_ratio`` and ``patch_size`` to the model's."""
        parser.link_arguments('model.img_size', 'data.img_size')
        parser.link_arguments('model.mask_ratio', 'data.mask_ratio')
        parser.link_arguments(
            ('model.arch', 'model.patch_size'), 'data.patch_size', compute_fn=patch_size_of
        )

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        """The stock trainer, with :func:`run_logger` in ``default_root_dir`` when none is set."""
        trainer = self._get(self.config_init, 'trainer', default={})
        if trainer.get('logger') in (None, True) and 'logger' not in kwargs:
            kwargs['logger'] = run_logger(trainer.get('default_root_dir') or os.getcwd())
        return super().instantiate_trainer(**kwargs)


def main(args: Any = None) -> MAELightningCLI:
    """Run the CLI on ``args`` (default: the command line)."""
    return MAELightningCLI(args=args)
