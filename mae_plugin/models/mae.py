"""The masked autoencoder itself: mask -> encode visible -> decode all -> loss on masked."""

from __future__ import annotations

from dataclasses import dataclass

from lightly.models.utils import get_at_index, patchify, unpatchify
from torch import Tensor, nn

from .decoder import MAEPixelDecoder
from .encoder import MaskedViTEncoder
from .loss import NormalizedPixelLoss, pixel_target
from .masking import batch_random_mask, check_mask_ratio, num_visible, split_indices


@dataclass
class MAEOutput:
    """What one MAE forward pass produces.

    Attributes:
        loss: scalar mean loss over the masked patches.
        pred: (B, L, p*p*C) float predictions in the loss' target space (per-patch normalised
            pixels under norm_pix).
        mask: (B, L) bool, True = masked.
    """

    loss: Tensor
    pred: Tensor
    mask: Tensor


class MaskedAutoencoder(nn.Module):
    """MAE (He et al. 2021) in plain torch: asymmetric encoder/decoder, loss on masked patches.

    Args:
        encoder: ViT that encodes only the visible patches.
        decoder: narrow transformer predicting the pixels of every patch.
        loss: reconstruction loss; its ``norm_pix`` decides the target space.
        mask_ratio: fraction of patches masked when no mask is passed in.
    """

    def __init__(
        self,
        encoder: MaskedViTEncoder,
        decoder: MAEPixelDecoder,
        loss: NormalizedPixelLoss | None = None,
        mask_ratio: float = 0.75,
    ) -> None:
        super().__init__()
        if tuple(decoder.grid_size) != tuple(encoder.grid_size):
            raise ValueError(
                f'decoder grid {decoder.grid_size} differs from the encoder grid '
                f'{encoder.grid_size}'
            )
        self.encoder = encoder
        self.decoder = decoder
        self.loss = loss if loss is not None else NormalizedPixelLoss()
        self.mask_ratio = check_mask_ratio(mask_ratio)
        # every mask keeps this many patches (the pipeline's and the model's own): the split
        # needs no count read from the mask
        self.num_visible = num_visible(self.num_patches, self.mask_ratio)

    @property
    def patch_size(self) -> int:
        """Side of a square patch in pixels, the encoder's."""
        return self.encoder.patch_size

    @property
    def num_patches(self) -> int:
        """L, the patches of one pretraining image."""
        height, width = self.encoder.grid_size
        return height * width

    def patchify(self, images: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, L, p*p*C), the official patch layout."""
        return patchify(images, self.patch_size)

    def unpatchify(self, patches: Tensor) -> Tensor:
        """(B, L, p*p*C) -> (B, C, H, W)."""
        channels = patches.shape[-1] // self.patch_size**2
        return unpatchify(patches, self.patch_size, channels=channels)

    def check_images(self, images: Tensor) -> None:
        """Raise a ValueError unless ``images`` are (B, C, H, W) at the pretraining size."""
        expected = tuple(s * self.patch_size for s in self.encoder.grid_size)
        if images.dim() != 4 or tuple(images.shape[-2:]) != expected:
            raise ValueError(
                f'MAE pretrains on (B, C, {expected[0]}, {expected[1]}) images '
                f'(patch size {self.patch_size}), got {tuple(images.shape)}'
            )

    def forward(
        self, images: Tensor, mask: Tensor | None = None, num_visible: int | None = None
    ) -> MAEOutput:
        """Mask, encode the visible patches, decode every patch, score the masked ones.

        Args:
            images: (B, C, H, W) float, normalised.
            mask: (B, L) bool, True = masked; None draws random masks at ``mask_ratio``.
            num_visible: patches every row of ``mask`` keeps; None for the model's own
                ``num_visible`` (training: the pipeline masks at the config's ratio).

        Returns:
            The loss, the (B, L, p*p*C) prediction and the (B, L) mask used.

        Raises:
            ValueError: ``images`` are not at the pretraining size, ``mask`` is not (B, L), or
                a row of it keeps another count (:func:`~.masking.check_num_visible`).
        """
        self.check_images(images)
        if mask is None:
            mask = batch_random_mask(
                images.shape[0], self.num_patches, self.mask_ratio, images.device
            )
        elif tuple(mask.shape) != (images.shape[0], self.num_patches):
            raise ValueError(
                f'mask must have shape {(images.shape[0], self.num_patches)}, '
                f'got {tuple(mask.shape)}'
            )
        mask = mask.to(device=images.device, dtype=bool)
        visible_ids, masked_ids = split_indices(
            mask, self.num_visible if num_visible is None else num_visible
        )
        latent = self.encoder(images, visible_ids)
        pred = self.decoder(latent, visible_ids)
        # the loss sees the masked patches only: no work is spent on the visible ones
        loss = self.loss(
            get_at_index(pred, masked_ids), get_at_index(self.patchify(images), masked_ids)
        )
        return MAEOutput(loss=loss, pred=pred, mask=mask)

    def pred_to_pixels(self, pred: Tensor, images: Tensor) -> Tensor:
        """Map ``pred`` (B, L, p*p*C) into the space of ``images``.

        Without norm-pix the prediction already is in that space. With norm-pix each patch is
        rescaled with the mean and std of the same *true* patch of ``images``: a norm-pix
        model predicts no patch mean or contrast, so a picture of it borrows them from the
        input (for display only: the masked patches' statistics come from the hidden pixels).
        The official demo does not do this: it shows the ``mae_visualize_*`` releases, which
        were trained on raw pixels, as they are; load those with ``norm_pix=False``.

        Returns:
            (B, L, p*p*C) float.
        """
        if not self.loss.norm_pix:
            return pred.float()
        patches = self.patchify(images).float()
        mean = patches.mean(dim=-1, keepdim=True)
        std = (patches.var(dim=-1, keepdim=True) + self.loss.eps).sqrt()
        return pred.float() * std + mean

    def composite(self, pred: Tensor, images: Tensor, mask: Tensor) -> Tensor:
        """Visible patches of ``images``, reconstructed pixels where masked.

        Args:
            pred: (B, L, p*p*C) predictions in the loss' target space.
            images: (B, C, H, W) float, normalised.
            mask: (B, L) bool, True = masked.

        Returns:
            (B, C, H, W) float, in the space of ``images`` (see :meth:`pred_to_pixels`).
        """
        patches = self.patchify(images).float()
        mixed = patches.where(~mask.unsqueeze(-1), self.pred_to_pixels(pred, images))
        return self.unpatchify(mixed)

    def target(self, images: Tensor) -> Tensor:
        """The loss' target for ``images`` (B, C, H, W): (B, L, p*p*C) float."""
        return pixel_target(self.patchify(images).float(), self.loss.norm_pix, self.loss.eps)
