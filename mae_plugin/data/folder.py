"""Image folders in the ImageNet layout: ``root/train/<class>/*.JPEG``, classes optional.

One class list per dataset family: the training split's. Its class folders are numbered in sorted
order, empty ones included, so that a class missing from a split (or an emptied folder) never
moves the labels of the others; validation and test splits take that list (``classes=``).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable, Sequence

_log = logging.getLogger(__name__)
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def class_folders(folder: str) -> list[str]:
    """Sorted names of the class sub-folders of ``folder``.

    Every sub-folder, empty or not, except hidden ones (``.name``, e.g.
    ``.ipynb_checkpoints``), which are neither classes nor read.

    Raises:
        FileNotFoundError: ``folder`` does not exist.
    """
    if not os.path.isdir(folder):
        raise FileNotFoundError(f'image folder {folder!r} does not exist')
    return sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith('.'))


def read_classes(source: str | Sequence[str], data_root: str = '') -> tuple[str, ...]:
    """The class list given by ``source``.

    Args:
        source: a sequence of names; a folder (the training split), whose class sub-folders
            are the classes; or a text file with one name a line.
        data_root: the folder a relative path of ``source`` is taken under.

    Raises:
        FileNotFoundError: ``source`` is a path to neither a folder nor a file.
        ValueError: the list is empty or names a class twice.
    """
    if isinstance(source, str):
        path = source if os.path.isabs(source) or not data_root else os.path.join(data_root, source)
        if os.path.isdir(path):
            names = class_folders(path)
        elif os.path.isfile(path):
            with open(path, encoding='utf-8') as f:
                names = [line.strip() for line in f if line.strip()]
        else:
            raise FileNotFoundError(
                f'classes: {path!r} is neither a folder (the training split) '
                'nor a text file of class names'
            )
        where = f' (from {path!r})'
    else:
        names, where = list(source), ''
    if not names:
        raise ValueError(f'classes: the class list{where} is empty')
    repeated = sorted(n for n, count in Counter(names).items() if count > 1)
    if repeated:
        raise ValueError(f'classes: {repeated} appear more than once in the class list{where}')
    return tuple(names)


def scan_image_folder(
    folder: str,
    extensions: Sequence[str] = IMAGE_EXTENSIONS,
    classes: Sequence[str] | None = None,
    warn: Callable[[str], None] | None = None,
) -> tuple[list[tuple[str, int]], list[str]]:
    """List ``(path, label)`` pairs of ``folder``; -1 for images directly in ``folder``.

    Args:
        folder: the split's folder.
        extensions: file endings of images (matched case-insensitively).
        classes: the class list (the training split's). None: this folder's own class folders.
            Given: a class folder of ``folder`` that is not in the list is an error naming it.
        warn: where the warning about empty class folders goes (a runner passes its logger;
            None: the ``logging`` logger of this module).

    Returns:
        The pairs and the class list; label = index in the class list.

    Raises:
        ValueError: a class folder not in ``classes``, or no image at all.
    """
    exts = tuple(e.lower() for e in extensions)

    def images_in(path: str) -> list[str]:
        found = []
        for root, dirs, files in os.walk(path, followlinks=True):
            dirs.sort()
            found += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(exts)]
        return found

    own = class_folders(folder)
    given = classes is not None
    classes = list(classes) if given else own
    index = {name: label for label, name in enumerate(classes)}
    unknown = [name for name in own if name not in index]
    if unknown:
        raise ValueError(
            f'class folder {os.path.join(folder, unknown[0])!r} (class {unknown[0]!r}) is not '
            f'among the {len(classes)} training classes; every class folder of {folder!r} must '
            f'be a training class (not in the list: {unknown})'
        )
    samples = [
        (e.path, -1)
        for e in sorted(os.scandir(folder), key=lambda e: e.name)
        if e.is_file() and e.name.lower().endswith(exts)
    ]
    empty = []
    for name in own:
        found = images_in(os.path.join(folder, name))
        empty += [] if found else [name]
        samples += [(path, index[name]) for path in found]
    if not samples:
        raise ValueError(f'image folder {folder!r} holds no images with extensions {exts}')
    if empty and not given:  # only the split that defines the classes says it
        (warn or _log.warning)(
            f'{folder!r}: class folders {empty} hold no images; they keep their labels '
            f'({[index[n] for n in empty]}), no image of them is seen'
        )
    return samples, classes
