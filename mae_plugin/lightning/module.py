"""``MAELightningModule``: the pure-torch ``MaskedAutoencoder`` trained by Lightning's Trainer."""

from __future__ import annotations

from typing import Any, Literal

import pytorch_lightning as pl
import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO
from pytorch_lightning.utilities import rank_zero_info
from torch import Tensor

from ..checkpoints import load_mae_weights
from ..checkpoints.model_meta import MODEL_META_KEY, model_meta
from ..data.constants import IMAGENET_MEAN, IMAGENET_STD
from ..models import MaskedAutoencoder, build_mae
from .batch import DeviceMasks, unpack_batch
from .checkpoint_io import MAECheckpointIO, first_non_finite
from .corrupt import CorruptImageTally
from .nonfinite import NonFiniteSteps
from .optim import WarmupCosine, adamw_groups, no_decay_names
from .schedule import SCHEDULE_KEY, resume_schedule, resumed_schedule, schedule_of


class MAELightningModule(pl.LightningModule):
    """MAE pretraining, exact to the paper, on Lightning's Trainer.

    Builds ``build_mae(arch, img_size, norm_pix, mask_ratio, decoder, **encoder)``, the model the
    MMEngine configs build. Checkpoint keys: ``mae.encoder.vit.*`` (timm names) and
    ``mae.decoder.*``.

    Batches are ``MAEDataModule``'s: ``inputs`` uint8 (B, 3, H, W), ``data_samples['mask']``
    (B, L) bool drawn in the data pipeline; images are normalised on the training device. Or
    lightly's ``(views, targets, filenames)`` (``LightlyDataset`` + ``MAETransform``): float
    images already normalised, the mask drawn on the device (``lightning/batch.py``).

    Optimizer: AdamW, weight decay on all but norms, biases, position tables, cls and mask
    tokens; lr = ``base_lr`` x batch x processes x ``accumulate_grad_batches`` / 256, linear
    warm-up from 0, then half-cycle cosine to 0, per optimizer step. A non-finite loss or
    gradient skips the step on the device, counted (``skipped_steps``); too many in a row stop
    every rank (``lightning/nonfinite.py``); a checkpoint holding a non-finite weight is refused
    on every rank.

    Args:
        arch: 'tiny', 'base' = ViT-B/16, 'large' = ViT-L/16, 'huge' = ViT-H/14.
        img_size: pretraining image side in pixels.
        patch_size: overrides the arch's.
        embed_dim: overrides the arch's encoder width.
        depth: overrides the arch's encoder depth.
        num_heads: overrides the arch's encoder head count.
        decoder_embed_dim: decoder width.
        decoder_depth: decoder blocks.
        decoder_num_heads: decoder attention heads.
        mask_ratio: share of masked patches.
        norm_pix: reconstruct per-patch normalised pixels (the paper's default).
        grad_checkpointing: recompute the encoder's blocks in backward.
        decoder_grad_checkpointing: recompute the decoder's blocks in backward.
        base_lr: lr per 256 images of effective batch.
        weight_decay: AdamW weight decay of the decayed parameters.
        betas: AdamW betas.
        fused: one fused kernel for the AdamW update, as the MMEngine configs.
        warmup_epochs: epochs of linear lr warm-up.
        flush_denormal: flush denormal floats to zero on a CPU (as the MMEngine runtime).
        pretrained: weights to start from, any format the converters read (a new run, not a
            resume).
        max_consecutive_skips: non-finite steps in a row that stop training.
        skip_check_interval: optimizer steps between reads of the skip counters.
    """

    def __init__(
        self,
        arch: Literal['tiny', 'base', 'large', 'huge'] = 'base',
        img_size: int = 224,
        patch_size: int | None = None,
        embed_dim: int | None = None,
        depth: int | None = None,
        num_heads: int | None = None,
        decoder_embed_dim: int = 512,
        decoder_depth: int = 8,
        decoder_num_heads: int = 16,
        mask_ratio: float = 0.75,
        norm_pix: bool = True,
        grad_checkpointing: bool = False,
        decoder_grad_checkpointing: bool = False,
        base_lr: float = 1.5e-4,
        weight_decay: float = 0.05,
        betas: tuple[float, float] = (0.9, 0.95),
        fused: bool = True,
        warmup_epochs: float = 40,
        flush_denormal: bool = True,
        pretrained: str | None = None,
        max_consecutive_skips: int = 5,
        skip_check_interval: int = 10,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        overrides = {
            k: v
            for k, v in dict(
                patch_size=patch_size, embed_dim=embed_dim, depth=depth, num_heads=num_heads
            ).items()
            if v is not None
        }
        self.mae: MaskedAutoencoder = build_mae(
            arch,
            img_size=img_size,
            norm_pix=norm_pix,
            mask_ratio=mask_ratio,
            decoder=dict(
                embed_dim=decoder_embed_dim,
                depth=decoder_depth,
                num_heads=decoder_num_heads,
                grad_checkpointing=decoder_grad_checkpointing,
            ),
            grad_checkpointing=grad_checkpointing,
            **overrides,
        )
        # read before any wrapper (FSDP) flattens or shards the parameters
        self._no_decay = no_decay_names(self)
        self._shapes = {k: tuple(v.shape) for k, v in self.state_dict().items()}
        self.register_buffer(
            'pixel_mean', torch.tensor(IMAGENET_MEAN).view(-1, 1, 1), persistent=False
        )
        self.register_buffer(
            'pixel_std', torch.tensor(IMAGENET_STD).view(-1, 1, 1), persistent=False
        )
        self._corrupt = CorruptImageTally()  # distinct unreadable files, all ranks
        self._resumed_schedule: dict[str, float] | None = None
        self._nonfinite = NonFiniteSteps(max_consecutive_skips, skip_check_interval)
        self._device_masks = DeviceMasks()  # for batches without a mask (lightly's)
        if pretrained:
            rank_zero_info(f'pretrained: {load_mae_weights(self.mae, pretrained).summary()}')

    # ---------------------------------------------------------------- data
    def normalize(self, images: Tensor) -> Tensor:
        """uint8 (B, 3, H, W) RGB 0-255 -> float (B, 3, H, W) normalised with ImageNet mean/std.

        The MMEngine data preprocessor's arithmetic: ``(x.float() - mean) / std``.
        """
        return (images.float() - self.pixel_mean) / self.pixel_std

    def _check_batch(self, batch: Any) -> tuple[Tensor, dict[str, Any]]:
        """(normalised images, data samples) of an MAEDataModule or lightly batch (batch.py)."""
        return unpack_batch(batch, self.normalize)

    def setup(self, stage: str) -> None:
        """Put checkpoints through ``MAECheckpointIO`` and let the data module check the model.

        Raises:
            ValueError: the trainer has a checkpoint IO of its own.
        """
        io = self.trainer.strategy.checkpoint_io
        if type(io) is TorchCheckpointIO:  # Lightning's default: atomic, weights_only instead
            self.trainer.strategy.checkpoint_io = MAECheckpointIO()
        elif not isinstance(io, MAECheckpointIO):
            raise ValueError(
                f'MAELightningModule writes and reads checkpoints through '
                f'MAECheckpointIO (atomic, finite, weights_only); the trainer has '
                f'{type(io).__name__}'
            )
        if self.hparams.flush_denormal and self.trainer.strategy.root_device.type == 'cpu':
            torch.set_flush_denormal(True)  # CPU kernels only, as the MMEngine runtime does
        data = self.trainer.datamodule
        if data is not None and hasattr(data, 'check_model'):
            data.check_model(self.mae)

    def configure_model(self) -> None:
        """Under ``MAEFSDP2Strategy`` shard the MAE (once); nothing under any other strategy."""
        shard = getattr(self._trainer.strategy, 'shard', None) if self._trainer else None
        if shard is not None and not getattr(self, '_sharded', False):
            shard(self.mae)
            self._sharded = True

    # ---------------------------------------------------------------- training
    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        """The MAE loss of a batch; logs loss, lr, skipped steps and unreadable files."""
        images, samples = self._check_batch(batch)
        mask = samples.get('mask')
        if mask is None:  # a lightly batch: drawn on the device, each rank its own stream
            mae = self.mae
            mask = self._device_masks(
                images.shape[0], mae.num_patches, mae.mask_ratio, images.device, self.global_rank
            )
        loss = self.mae(images, mask).loss
        self._nonfinite.observe(loss)  # the step is skipped on the device, not here
        corrupt = self._corrupt.step(samples, self.trainer)
        self.log('loss', loss, prog_bar=True)
        self.log('lr', self.optimizers().param_groups[0]['lr'], prog_bar=True)
        self.log('skipped_steps', self._nonfinite.total)  # the same on every rank
        self.log('corrupt_images', float(corrupt))  # the same on every rank
        return loss

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Arm the coming step to change nothing if it is not finite on any rank."""
        self._nonfinite.before_optimizer_step(self, optimizer)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        """Disarm the step; read the skip counters when due."""
        self._nonfinite.after_batch()

    def on_train_end(self) -> None:
        """Read the skip counters a last time (stops on a run of skips at the end)."""
        self._nonfinite.check()

    def configure_optimizers(self) -> dict[str, Any]:
        """AdamW at the scaled lr with the per-step warm-up + cosine schedule; the lr is logged."""
        hp, trainer = self.hparams, self.trainer
        if trainer.train_dataloader is None:  # Lightning loads it after this hook otherwise
            trainer.fit_loop.setup_data()
        # checked against a resumed checkpoint's in on_train_start (schedule.py)
        schedule = schedule_of(hp.base_lr, hp.warmup_epochs, trainer)
        lr, total = schedule['lr'], schedule['total_steps']
        rank_zero_info(
            f'lr = base_lr {hp.base_lr:g} x (batch {schedule["batch"]} x {trainer.world_size} '
            f'processes x {schedule["accumulation"]} accumulation) / 256 = {lr:.6g}; '
            f'{hp.warmup_epochs:g} warm-up epochs = {schedule["warmup_steps"]:g} of '
            f'{total} optimizer steps ({schedule["steps_per_epoch"]} per epoch), then cosine to 0'
        )
        optimizer = torch.optim.AdamW(
            adamw_groups(self, hp.weight_decay, self._no_decay),
            lr=lr,
            betas=tuple(hp.betas),
            fused=hp.get('fused', True),  # a .ckpt of an older module lacks the key
        )
        lam = WarmupCosine(schedule['warmup_steps'], total)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lam)
        self._schedule = schedule
        return dict(
            optimizer=optimizer,
            lr_scheduler=dict(scheduler=scheduler, interval='step', frequency=1),
        )

    def on_train_start(self) -> None:
        """Check a resumed schedule against this run's; rescale the lr to another layout."""
        # every strategy has restored the optimizer and the scheduler by now (mae_fsdp and
        # mae_fsdp2 only after configure_optimizers): refuse another schedule, rescale another
        # layout (schedule.py)
        resume_schedule(self._resumed_schedule, self._schedule, self.trainer)
        self._resumed_schedule = None

    # ---------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Refuse non-finite weights on every rank; add schedule, model meta, unreadable files.

        Raises:
            FloatingPointError: a weight on any rank holds NaN or Inf.
        """
        self._nonfinite.check()  # never a checkpoint past a stop (every rank alike)
        bad = first_non_finite(checkpoint.get('state_dict', {}))
        flag = torch.tensor([0.0 if bad is None else 1.0], device=self.device)
        if self.trainer.strategy.reduce(flag, reduce_op='sum').item() > 0:
            what = f'weight {bad!r} holds' if bad else 'a weight on another rank holds'
            raise FloatingPointError(
                f'checkpoint not written at optimizer step '
                f'{self.global_step}: {what} non-finite values'
            )
        checkpoint[SCHEDULE_KEY] = dict(getattr(self, '_schedule', {}))
        checkpoint[MODEL_META_KEY] = model_meta(self.mae)  # what the weights do not say
        checkpoint['corrupt_images'] = self._corrupt.state(self.trainer)  # file names

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Check the checkpoint's shapes; keep its schedule and unreadable files for the run.

        Raises:
            ValueError: keys or shapes that do not fit this MAE, with the sizes it was trained
                with.
        """
        attached = self._trainer is not None
        path = getattr(self.trainer, 'ckpt_path', None) if attached else None
        where = f'checkpoint {path!r}' if path else 'the checkpoint'
        mine = self._shapes
        theirs = checkpoint.get('state_dict')  # FSDP has loaded (and removed) it already
        theirs = {k: tuple(v.shape) for k, v in theirs.items()} if theirs is not None else mine
        wrong = [
            f'{k}: file {v} vs model {mine[k]}'
            for k, v in theirs.items()
            if k in mine and v != mine[k]
        ]
        missing = sorted(set(mine) - set(theirs))
        unexpected = sorted(set(theirs) - set(mine))
        if wrong or missing or unexpected:
            sizes = {
                k: checkpoint.get('hyper_parameters', {}).get(k)
                for k in ('arch', 'img_size', 'patch_size', 'embed_dim', 'depth')
            }
            raise ValueError(
                f'{where} does not fit this MAE (another model size? it was '
                f'trained with {sizes}): shape mismatches {wrong[:4]}, missing '
                f'{missing[:4]}, unexpected {unexpected[:4]}'
            )
        self._resumed_schedule = resumed_schedule(checkpoint)  # checked in on_train_start
        self._corrupt.restore(checkpoint.get('corrupt_images', []))
