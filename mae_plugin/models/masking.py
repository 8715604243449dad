"""Patch masking for MAE: which patches the encoder sees.

A mask is a bool tensor over the patch grid, flattened row-major: shape (L,) for one image or
(B, L) for a batch, True = masked (hidden from the encoder, reconstructed by the decoder). Every
strategy keeps exactly ``num_visible(L, ratio)`` patches, so a batch stacks into dense index
tensors; ``num_visible`` is the one name of that count throughout the code.

One image (the pipeline's mask transform, pictures): :func:`make_mask` with a strategy,
:func:`random_mask`, :func:`block_mask`, :func:`grid_mask`, each (L,) from a numpy generator.
A batch on the device (the model masking by itself): :func:`batch_random_mask`, (B, L) from a
torch generator.
"""

from __future__ import annotations

import random
from typing import Literal

import numpy as np
import torch
from lightly.models.utils import random_block_mask_image
from torch import Tensor

MaskStrategy = Literal['random', 'block', 'grid']
STRATEGIES = ('random', 'block', 'grid')


def check_mask_ratio(mask_ratio: float) -> float:
    """Return ``mask_ratio`` if it lies in [0, 1), else raise a ValueError naming it."""
    if not 0.0 <= float(mask_ratio) < 1.0:
        raise ValueError(f'mask_ratio must lie in [0, 1), got {mask_ratio!r}')
    return float(mask_ratio)


def num_visible(num_patches: int, mask_ratio: float) -> int:
    """Number of patches the encoder keeps, ``int(L * (1 - ratio))`` as in the official code."""
    return int(num_patches * (1 - check_mask_ratio(mask_ratio)))


def random_mask(
    grid_size: tuple[int, int], mask_ratio: float, rng: np.random.Generator | None = None
) -> Tensor:
    """One image's mask, the visible patches drawn uniformly without replacement.

    Returns:
        (L,) bool, True = masked, with exactly ``num_visible(L, mask_ratio)`` False.
    """
    check_mask_ratio(mask_ratio)  # before the draw: a bad ratio consumes no randomness
    num_patches = grid_size[0] * grid_size[1]
    order = (rng or np.random).permutation(num_patches)
    mask = torch.ones(num_patches, dtype=torch.bool)
    mask[torch.from_numpy(order[: num_visible(num_patches, mask_ratio)])] = False
    return mask


def block_mask(
    grid_size: tuple[int, int], mask_ratio: float, rng: np.random.Generator | None = None
) -> Tensor:
    """One image's mask of rectangular blocks, BEiT-style (paper Table 1f).

    Rectangular blocks (>= 16 patches, aspect ratio in [0.3, 1/0.3]) come from lightly's
    DINOv2/BEiT block generator; it may stop short of the target, so the remainder is topped up
    with random patches to keep the exact visible count that every other strategy keeps.

    Returns:
        (L,) bool, True = masked.
    """
    height, width = grid_size
    num_patches = height * width
    num_masked = num_patches - num_visible(num_patches, mask_ratio)
    saved = None
    if rng is not None:  # lightly's generator draws from ``random``: seed it from rng, restore
        saved = random.getstate()
        random.seed(int(rng.integers(2**63)))
    try:
        mask = random_block_mask_image(
            (height, width), num_masks=num_masked, min_num_masks_per_block=min(16, num_masked)
        ).flatten()
    finally:
        if saved is not None:
            random.setstate(saved)
    mask = mask[:num_patches].clone()
    shortfall = num_masked - int(mask.sum())
    if shortfall > 0:
        free = torch.nonzero(~mask).flatten().numpy()
        chosen = (rng or np.random).choice(free, size=shortfall, replace=False)
        mask[torch.from_numpy(chosen)] = True
    elif shortfall < 0:  # never expected from lightly's generator; keep the count exact anyway
        taken = torch.nonzero(mask).flatten()
        mask[taken[:(-shortfall)]] = False
    return mask


def grid_mask(
    grid_size: tuple[int, int], mask_ratio: float = 0.75, rng: np.random.Generator | None = None
) -> Tensor:
    """One image's mask keeping the top-left patch of every 2x2 cell (paper Table 1f).

    Returns:
        (L,) bool, True = masked; the same for every call (``rng`` is not used).

    Raises:
        ValueError: ``mask_ratio`` is not 0.75, the only ratio of this strategy.
    """
    del rng  # deterministic by definition
    if abs(mask_ratio - 0.75) > 1e-9:
        raise ValueError(
            f"the 'grid' strategy keeps one of every 2x2 patches, so mask_ratio "
            f'must be 0.75, got {mask_ratio!r}'
        )
    height, width = grid_size
    rows = torch.arange(height).view(-1, 1)
    cols = torch.arange(width).view(1, -1)
    visible = (rows % 2 == 0) & (cols % 2 == 0)
    return (~visible).flatten()


_MASKERS = {'random': random_mask, 'block': block_mask, 'grid': grid_mask}


def make_mask(
    strategy: MaskStrategy,
    grid_size: tuple[int, int],
    mask_ratio: float,
    rng: np.random.Generator | None = None,
) -> Tensor:
    """Mask for one image with the named strategy.

    Args:
        strategy: ``'random'``, ``'block'`` or ``'grid'``.
        grid_size: patch grid (h, w); L = h * w.
        mask_ratio: share of masked patches, in [0, 1).
        rng: numpy generator to draw from; None draws from numpy's (and for ``'block'``,
            Python's) global state.

    Returns:
        (L,) bool, True = masked, with exactly ``num_visible(L, mask_ratio)`` False.

    Raises:
        ValueError: an unknown strategy, or a ratio outside [0, 1) or not allowed by it.
    """
    if strategy not in _MASKERS:
        raise ValueError(f'unknown mask strategy {strategy!r}; choose one of {STRATEGIES}')
    check_mask_ratio(mask_ratio)
    return _MASKERS[strategy](grid_size, mask_ratio, rng=rng)


def fixed_masks(
    grid_size: tuple[int, int], count: int, mask_ratio: float, strategy: MaskStrategy, seed: int
) -> Tensor:
    """(count, L) bool masks of ``strategy``, the same for the same seed (pictures, tools)."""
    rng = np.random.default_rng(seed)
    return torch.stack([make_mask(strategy, grid_size, mask_ratio, rng) for _ in range(count)])


def batch_random_mask(
    batch_size: int,
    num_patches: int,
    mask_ratio: float,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """A batch's random masks on ``device``, drawn as the official code draws them.

    The argsort of uniform noise; used when the model masks by itself (no mask came with the
    data).

    Args:
        batch_size: B.
        num_patches: L.
        mask_ratio: the share of masked patches; every row keeps ``num_visible(L, mask_ratio)``.
        device: where the noise and the mask are made.
        generator: the noise's generator (on ``device``), None for torch's default one.

    Returns:
        (B, L) bool, True = masked.
    """
    check_mask_ratio(mask_ratio)  # before the draw: a bad ratio consumes no randomness
    noise = torch.rand(batch_size, num_patches, device=device, generator=generator)
    ids_shuffle = torch.argsort(noise, dim=1)
    mask = torch.ones(batch_size, num_patches, dtype=torch.bool, device=device)
    mask.scatter_(1, ids_shuffle[:, : num_visible(num_patches, mask_ratio)], False)
    return mask


def check_num_visible(mask: Tensor, num_visible: int) -> None:
    """Raise unless every row of the (B, L) bool ``mask`` keeps exactly ``num_visible`` patches.

    A CPU mask outside compilation is read on the host (no device queue to wait for), so the
    error names every row's count. Anywhere else (a GPU mask, a compiled graph) reading the
    counts would stall the device or break the graph: ``torch._assert_async`` checks on the
    device instead and fails at the next synchronisation, naming the expected count.

    Raises:
        ValueError: a row of a CPU mask keeps another count (outside compilation).
    """
    visible_per_row = (~mask).sum(dim=1)
    rule = f'every mask must keep num_visible(L, mask_ratio) = {num_visible} of its {mask.shape[1]}'
    if mask.device.type == 'cpu' and not torch.compiler.is_compiling():
        if bool((visible_per_row != num_visible).any()):
            raise ValueError(f'{rule} patches, got {visible_per_row.tolist()} visible per row')
    else:
        torch._assert_async(
            (visible_per_row == num_visible).all(),
            f'{rule} patches; a mask of this batch keeps another count',
        )


def num_visible_in(mask: Tensor) -> int:
    """``num_visible`` of the first row of the (B, L) bool ``mask``, read on the host.

    For tools that take masks of any ratio (pictures, inference); never in the training step,
    whose count comes from the config.
    """
    return int((~mask[0]).sum())


def split_indices(mask: Tensor, num_visible: int) -> tuple[Tensor, Tensor]:
    """Indices of the visible and of the masked patches of each row, each in increasing order.

    Args:
        mask: (B, L) bool, True = masked; every row must keep exactly ``num_visible`` patches.
        num_visible: visible patches per row, known from the config
            (``num_visible(L, mask_ratio)``), so the split reads nothing from the mask on the
            host (no sync, no graph break).

    Returns:
        (B, num_visible) visible and (B, L - num_visible) masked int64 indices into the patch
        sequence.

    Raises:
        ValueError: ``mask`` is not (B, L) bool, ``num_visible`` lies outside [0, L], or a row
            keeps another count (see :func:`check_num_visible`).
    """
    if mask.dim() != 2 or mask.dtype != torch.bool:
        raise ValueError(f'mask must be a (B, L) bool tensor, got {tuple(mask.shape)} {mask.dtype}')
    if not 0 <= num_visible <= mask.shape[1]:
        raise ValueError(f'num_visible must lie in [0, {mask.shape[1]}], got {num_visible}')
    check_num_visible(mask, num_visible)
    # a stable sort of 0 (visible) before 1 (masked) lists visible positions first, in order
    order = torch.sort(mask.to(torch.uint8), dim=1, stable=True).indices
    return order[:, :num_visible], order[:, num_visible:]


def visible_indices(mask: Tensor, num_visible: int) -> Tensor:
    """(B, num_visible) indices of the visible patches of each row of ``mask``, in order."""
    return split_indices(mask, num_visible)[0]
