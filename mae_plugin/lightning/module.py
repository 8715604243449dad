"""``MAELightningModule``: the pure-torch ``MaskedAutoencoder`` trained by Lightning's Trainer."""

from __future__ import annotations

from typing import Any, Literal

import pytorch_lightning as pl
import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO
from pytorch_lightning.utilities import rank_zero_info
from torch import Tensor

from ..checkpoints import load_mae_weights
from ..data.constants import IMAGENET_MEAN, IMAGENET_STD
from ..models import MaskedAutoencoder, build_mae
from .checkpoint_io import MAECheckpointIO, first_non_finite
from .optim import WarmupCosine, adamw_groups, no_decay_names, scaled_lr

SCHEDULE_KEY = 'mae_schedule'  # checkpoint[SCHEDULE_KEY]: the lr schedule as plain numbers


class MAELightningModule(pl.LightningModule):
    """MAE pretraining, exact to the paper, on Lightning's Trainer.

    Builds ``build_mae(arch, img_size, norm_pix, mask_ratio, decoder, **encoder)``, the model the
    MMEngine configs build (``arch``: 'base' = ViT-B/16, 'large' = ViT-L/16, 'huge' = ViT-H/14;
    ``patch_size``, ``embed_dim``, ``depth``, ``num_heads`` override the arch's;
    ``grad_checkpointing`` / ``decoder_grad_checkpointing`` recompute the encoder's / decoder's
    blocks in backward). Checkpoint keys:
    ``mae.encoder.vit.*`` (timm names) and ``mae.decoder.*``.

    Batches are ``MAEDataModule``'s: ``inputs`` uint8 (B, 3, H, W), ``data_samples['mask']``
    (B, L) bool drawn in the data pipeline; images are normalised on the training device.

    Optimizer: AdamW β ``betas``, ``weight_decay`` except norms, biases, position tables, cls
    and mask tokens, one fused kernel for the update (``fused``, as the MMEngine configs);
    lr = ``base_lr`` x batch x processes x ``accumulate_grad_batches`` / 256; ``warmup_epochs``
    of linear warm-up from 0, then half-cycle cosine to 0, per optimizer step.
    A non-finite loss stops every rank before backward, naming the step; a checkpoint holding
    a non-finite weight is refused on every rank. ``pretrained``: weights to start from, any
    format the converters read (a new run, not a resume).
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
        self._corrupt = torch.zeros((), dtype=torch.int64)  # images skipped, this rank
        self._resumed_schedule: dict[str, float] | None = None
        if pretrained:
            rank_zero_info(f'pretrained: {load_mae_weights(self.mae, pretrained).summary()}')

    # ---------------------------------------------------------------- data
    def normalize(self, images: Tensor) -> Tensor:
        """uint8 (B, 3, H, W) RGB 0-255 -> float normalised with ImageNet mean/std (the MMEngine
        data preprocessor's arithmetic: ``(x.float() - mean) / std``)."""
        return (images.float() - self.pixel_mean) / self.pixel_std

    def _check_batch(self, batch: Any) -> None:
        if not (
            isinstance(batch, dict)
            and 'inputs' in batch
            and isinstance(batch.get('data_samples'), dict)
        ):
            raise TypeError(
                'MAELightningModule trains on MAEDataModule batches (a dict of '
                "'inputs' uint8 (B, 3, H, W) and 'data_samples' with the mask "
                f'drawn in the pipeline), got a {type(batch).__name__}; wrap your '
                'images or LightlyDataset in MAEDataModule'
            )

    def setup(self, stage: str) -> None:
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
    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        self._check_batch(batch)
        samples = batch['data_samples']
        loss = self.mae(self.normalize(batch['inputs']), samples.get('mask')).loss
        self._stop_if_not_finite(loss, batch_idx)
        if 'num_skipped' in samples:
            self._corrupt = self._corrupt.to(loss.device) + samples['num_skipped'].sum()
        self.log('loss', loss, prog_bar=True)
        self.log('lr', self.optimizers().param_groups[0]['lr'], prog_bar=True)
        self.log('corrupt_images', self._corrupt.float(), reduce_fx='sum', sync_dist=True)
        return loss

    def _stop_if_not_finite(self, loss: Tensor, batch_idx: int) -> None:
        """Raise on every rank together when the loss of any rank is NaN/Inf (no DDP hang)."""
        bad = (~torch.isfinite(loss.detach())).float().reshape(1)
        if self.trainer.strategy.reduce(bad, reduce_op='sum').item() > 0:
            raise FloatingPointError(
                f'non-finite loss ({loss.item()}) at optimizer step {self.global_step + 1} '
                f'(epoch {self.current_epoch}, batch {batch_idx}): training stopped before '
                'backward, no weights were changed or saved'
            )

    def configure_optimizers(self) -> dict[str, Any]:
        hp, trainer = self.hparams, self.trainer
        if trainer.train_dataloader is None:  # Lightning loads it after this hook otherwise
            trainer.fit_loop.setup_data()
        loader = trainer.train_dataloader
        batch = getattr(loader, 'batch_size', None)
        if not isinstance(batch, int):
            raise ValueError(
                'the lr rule needs the batch size per process: the training '
                f'DataLoader has batch_size={batch!r}'
            )
        accumulation = trainer.accumulate_grad_batches
        lr = scaled_lr(hp.base_lr, batch, trainer.world_size, accumulation)
        total = trainer.estimated_stepping_batches
        if not isinstance(total, int):
            raise ValueError(
                'the cosine schedule needs a finite run: set trainer.max_epochs (or max_steps)'
            )
        per_epoch = -(-trainer.num_training_batches // accumulation)
        schedule = dict(
            base_lr=hp.base_lr,
            effective_batch=batch * trainer.world_size * accumulation,
            lr=lr,
            steps_per_epoch=per_epoch,
            total_steps=total,
            warmup_steps=hp.warmup_epochs * per_epoch,
        )
        self._check_resumed_schedule(schedule)
        rank_zero_info(
            f'lr = base_lr {hp.base_lr:g} x (batch {batch} x {trainer.world_size} '
            f'processes x {accumulation} accumulation) / 256 = {lr:.6g}; '
            f'{hp.warmup_epochs:g} warm-up epochs = {schedule["warmup_steps"]:g} of '
            f'{total} optimizer steps ({per_epoch} per epoch), then cosine to 0'
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

    # ---------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        bad = first_non_finite(checkpoint.get('state_dict', {}))
        flag = torch.tensor([0.0 if bad is None else 1.0], device=self.device)
        if self.trainer.strategy.reduce(flag, reduce_op='sum').item() > 0:
            what = f'weight {bad!r} holds' if bad else 'a weight on another rank holds'
            raise FloatingPointError(
                f'checkpoint not written at optimizer step '
                f'{self.global_step}: {what} non-finite values'
            )
        checkpoint[SCHEDULE_KEY] = dict(getattr(self, '_schedule', {}))
        total = self.trainer.strategy.reduce(self._corrupt.to(self.device).clone(), reduce_op='sum')
        checkpoint['corrupt_images'] = int(total)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
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
        self._resumed_schedule = checkpoint.get(SCHEDULE_KEY)
        if not attached or self.trainer.is_global_zero:  # the sum over ranks, counted once
            self._corrupt = torch.tensor(int(checkpoint.get('corrupt_images', 0)))

    def _check_resumed_schedule(self, schedule: dict[str, float]) -> None:
        saved = self._resumed_schedule
        if not saved:
            return
        diffs = [
            f'{k}: {saved.get(k)} -> {v}'
            for k, v in schedule.items()
            if k in saved and saved[k] != v
        ]
        if diffs:
            raise ValueError(
                'the checkpoint being resumed was trained with another schedule, '
                'so resuming would follow neither: '
                + '; '.join(diffs)
                + '. Resume with the same trainer/data settings, or start a new '
                'run (model.pretrained=CKPT for its weights).'
            )
