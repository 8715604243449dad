"""PyTorch Lightning adapter: pretrain the MAE with Lightning's Trainer (lightly users' stack).

Imports the pure core (``models/``), ``data/`` and ``checkpoints/``, never ``engine/`` or
MMEngine (a test says so). ``MAELightningModule`` (the model, optimizer and schedule),
``MAEDataModule`` (image folders or a ``LightlyDataset``), callbacks for reconstruction pictures
and the kNN monitor, ``MAECheckpointIO`` (atomic, finite, ``weights_only`` checkpoints),
``MAEFSDPStrategy`` (FSDP wrapping each transformer block) and the ``LightningCLI`` entry point
``MAELightningCLI`` (``tools/train_lightning.py``).
"""

from .callbacks import KNNMonitor, ReconstructionCallback
from .checkpoint_io import MAECheckpointIO
from .data import MAEDataModule, MAEImageDataset
from .module import MAELightningModule
from .strategies import MAEFSDP2Strategy, MAEFSDPStrategy

__all__ = [
    'KNNMonitor',
    'ReconstructionCallback',
    'MAECheckpointIO',
    'MAEDataModule',
    'MAEImageDataset',
    'MAELightningModule',
    'MAEFSDP2Strategy',
    'MAEFSDPStrategy',
]
