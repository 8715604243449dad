"""A small labelled image folder read whole, as evaluation views (the kNN monitor's splits)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import torch

from .folder import scan_image_folder
from .unreadable import read_fixed_views


def read_labelled_split(
    folder: str,
    size: int,
    classes: Sequence[str] | None = None,
    warn: Callable[[str], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Every readable image of ``folder/<class>/*``, resized (bicubic) and centre-cropped to
    ``size``; unreadable ones are left out and named once through ``warn``.

    Args:
        classes: the training split's class list (labels index it; a class folder not in it is
            an error); None: this folder's own class folders.

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
