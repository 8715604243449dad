"""The fixed images the monitors read, each once.

The first readable training images of the reconstruction pictures (with their fixed masks) and
the labelled splits of the kNN monitor. An unreadable file is passed over and named once
through ``warn``: a monitor never ends a run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from itertools import islice

import torch

from ..data.folder import scan_image_folder
from ..data.image import CorruptImageError, read_center_crop
from ..models.masking import fixed_masks

LOOK_AHEAD = 1000  # training files a monitor tries for its fixed images (the first readable)
PICTURES = 'reconstruction pictures'  # what the pictures' warnings call them
Warn = Callable[[str], None]


def read_fixed_views(
    sources: Iterable[tuple[str, str | bytes]],
    size: int,
    count: int | None = None,
    warn: Warn | None = None,
    what: str = 'images',
) -> tuple[list[int], torch.Tensor]:
    """Evaluation views (shorter side to ``size``, centre crop) of the readable ``sources``.

    Args:
        sources: ``(name, path or encoded bytes)`` pairs, read in order (lazily).
        size: side of the square views in pixels.
        count: stop after this many readable images (None: read all).
        warn: told once, after reading, which files were skipped and why.
        what: what the images are for, in the warning.

    Returns:
        The positions in ``sources`` of the images kept, and the images, uint8 (N, 3, size, size)
        (N = 0 when none was readable).
    """
    kept: list[int] = []
    images: list[torch.Tensor] = []
    skipped: list[str] = []
    for position, (name, source) in enumerate(sources):  # lazily: no file read past count
        try:
            images.append(read_center_crop(source, size))
        except CorruptImageError as err:
            skipped.append(f'{name!r} ({err.__cause__ or err})')
            continue
        kept.append(position)
        if count is not None and len(images) >= count:
            break
    if skipped and warn is not None:
        done = 'left out' if count is None else 'skipped'
        instead = '' if count is None else ', read the next readable ones instead'
        warn(
            f'{what}: {done} {len(skipped)} unreadable image(s){instead}: '
            + '; '.join(skipped[:20])
            + (' ...' if len(skipped) > 20 else '')
        )
    stacked = torch.stack(images) if images else torch.empty(0, 3, size, size, dtype=torch.uint8)
    return kept, stacked


def picture_batch(
    sources: Iterable[tuple[str, str | bytes]],
    size: int,
    grid_size: tuple[int, int],
    mask_ratio: float,
    count: int,
    seed: int,
    warn: Warn,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed batch of the reconstruction pictures.

    The first ``count`` readable images among the first :data:`LOOK_AHEAD` ``sources``, and
    random masks drawn from ``seed``.

    Args:
        sources: ``(name, path or encoded bytes)`` of the training images, in dataset order.
        size: side of the square views (the model's input size).
        grid_size: (h, w) patch grid of the model.
        mask_ratio: fraction of patches masked.
        count: images wanted.
        seed: seed of the masks (the same masks at every step and on every rank).
        warn: told which files were passed over, or that none was readable.

    Returns:
        images uint8 (N, 3, size, size) and masks bool (N, L), True = masked; N < ``count``
        when fewer images are readable (N = 0: nothing to draw, said through ``warn``).
    """
    _, images = read_fixed_views(islice(sources, LOOK_AHEAD), size, count, warn, PICTURES)
    found = len(images)
    if not found:
        warn(f'{PICTURES}: no readable training image, none drawn')
    # at least one mask drawn (an empty stack is an error), none kept when no image is readable
    masks = fixed_masks(grid_size, max(found, 1), mask_ratio, 'random', seed)[:found]
    return images, masks


def read_labelled_split(
    folder: str,
    size: int,
    classes: Sequence[str] | None = None,
    warn: Warn | None = None,
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Every readable image of ``folder/<class>/*`` as an evaluation view.

    Resized (bicubic) and centre-cropped to ``size``; unreadable ones are left out and named
    once through ``warn``.

    Args:
        folder: the split's folder.
        size: side of the square views in pixels.
        classes: the training split's class list (labels index it; a class folder not in it is
            an error); None: this folder's own class folders.
        warn: told which files were left out (None: this module's logger).

    Returns:
        images uint8 (N, 3, size, size), labels int64 (N,), the class list.
    """
    samples, classes = scan_image_folder(folder, classes=classes, warn=warn)
    unlabelled = [path for path, label in samples if label < 0]
    if unlabelled:
        raise ValueError(
            f'{unlabelled[0]!r} is outside the class sub-folders of {folder!r}; '
            'every image of a labelled split needs a class folder'
        )
    sources = ((path, path) for path, _ in samples)
    warn = warn or logging.getLogger(__name__).warning
    kept, images = read_fixed_views(sources, size, warn=warn, what=f'kNN split {folder!r}')
    if not kept:
        raise ValueError(f'{folder!r}: none of its {len(samples)} images is readable')
    labels = torch.tensor([samples[i][1] for i in kept], dtype=torch.int64)
    return images, labels, list(classes)
