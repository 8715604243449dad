"""A small labelled image folder read whole, as evaluation views (the kNN monitor's splits)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .folder import scan_image_folder
from .image import read_center_crop


def read_labelled_split(
    folder: str,
    size: int,
    classes: Sequence[str] | None = None,
    warn: Callable[[str], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Every image of ``folder/<class>/*``, resized (bicubic) and centre-cropped to ``size``.

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
    images = torch.stack([read_center_crop(path, size) for path, _ in samples])
    labels = torch.tensor([label for _, label in samples], dtype=torch.int64)
    return images, labels, list(classes)
