"""Image folder -> tar shards that :class:`~mae_plugin.data.shards.ShardStream` reads.

Each image is decoded once, resized so that its longer side is at most ``max_side`` (bicubic;
smaller images keep their size) and re-encoded as JPEG at ``quality``: pretraining crops 20-100 %
of an image down to 224 px, so 320 px keeps what the crop needs while decoding gets cheaper than
a full-size photograph's (measured in docs/benchmarks.md, "Decoding tar shards vs the original
JPEGs"). 16-bit and 32-bit images are
brought to 8 bits first by :func:`~mae_plugin.data.image.to_rgb`, the rule every reader uses.
The images are packed in a shuffled order (``seed``): class folders scanned in order would
otherwise give one class per shard. Every shard is written under a temporary name and renamed
once complete.

Beside the shards: ``classes.txt`` (one class a line, label = line index; only when ``SRC`` has
class folders) and ``manifest.tsv`` (shard, key, source path relative to ``SRC``, label).
"""

from __future__ import annotations

import glob
import io
import os
import random
from dataclasses import dataclass

from PIL import Image
from webdataset import TarWriter

from ..fileio import atomic_open, atomic_write_text
from .folder import scan_image_folder
from .image import load_image


@dataclass
class PackReport:
    """What :func:`pack_folder` wrote.

    Attributes:
        shards: the tar files, in order.
        images: images packed.
        classes: the class list (label = index), empty without class folders.
        source_bytes: size of the original files.
        packed_bytes: size of the re-encoded JPEGs.
    """

    shards: list[str]
    images: int
    classes: list[str]
    source_bytes: int
    packed_bytes: int


def encode(path: str, max_side: int, quality: int) -> bytes:
    """The JPEG bytes of ``path`` with its longer side at most ``max_side`` pixels."""
    image = load_image(path)
    scale = max_side / max(image.size)
    if scale < 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BICUBIC)
    out = io.BytesIO()
    image.save(out, format='JPEG', quality=quality)
    return out.getvalue()


def pack_folder(
    src: str,
    out: str,
    max_side: int = 320,
    shard_size: int = 1000,
    quality: int = 90,
    seed: int = 0,
    prefix: str = 'shard',
) -> PackReport:
    """Write ``out/<prefix>-000000.tar, ...`` with ``shard_size`` images each (the last fewer).

    Members: ``<key>.jpg`` and, with class folders, ``<key>.cls`` (the label as text); the key
    is the image's number in the packing order.

    Args:
        src: the image folder (ImageNet layout, class folders optional).
        out: the folder the shards, ``classes.txt`` and ``manifest.tsv`` go to.
        max_side: longer side of a packed image at most, in pixels.
        shard_size: images per shard.
        quality: JPEG quality of the re-encoding, 1-100.
        seed: seed of the packing order.
        prefix: shard file names' start.

    Returns:
        What was written.

    Raises:
        ValueError: a setting out of range, or class folders with loose images beside them.
        FileExistsError: ``out`` already holds shards of ``prefix``.
        CorruptImageError: an unreadable image, naming it.
    """
    if max_side < 1 or shard_size < 1 or not 1 <= quality <= 100:
        raise ValueError(
            f'max_side ({max_side}) and shard_size ({shard_size}) must be positive, '
            f'quality ({quality}) in [1, 100]'
        )
    stale = sorted(glob.glob(os.path.join(glob.escape(out), f'{prefix}-*.tar')))
    if stale:
        raise FileExistsError(
            f'{out!r} already holds shards ({stale[:3]}...); pack into a new folder'
        )
    samples, classes = scan_image_folder(src)
    labelled = any(label >= 0 for _, label in samples)
    if labelled and any(label < 0 for _, label in samples):
        loose = [path for path, label in samples if label < 0][:3]
        raise ValueError(f'{src!r} has class folders and loose images beside them ({loose})')
    random.Random(seed).shuffle(samples)
    shards, manifest = [], ['shard\tkey\tsource\tlabel']
    source_bytes = packed_bytes = 0
    for first in range(0, len(samples), shard_size):
        name = f'{prefix}-{first // shard_size:06d}.tar'
        path = os.path.join(out, name)
        with atomic_open(path) as f, TarWriter(f, encoder=False, mtime=0) as sink:
            for number, (image_path, label) in enumerate(samples[first : first + shard_size]):
                key = f'{first + number:09d}'
                member = dict(__key__=key, jpg=encode(image_path, max_side, quality))
                if labelled:
                    member['cls'] = str(label).encode('ascii')
                sink.write(member)
                source_bytes += os.path.getsize(image_path)
                packed_bytes += len(member['jpg'])
                manifest.append(f'{name}\t{key}\t{os.path.relpath(image_path, src)}\t{label}')
        shards.append(path)
    if labelled:
        atomic_write_text(''.join(f'{c}\n' for c in classes), os.path.join(out, 'classes.txt'))
    atomic_write_text('\n'.join(manifest) + '\n', os.path.join(out, 'manifest.tsv'))
    return PackReport(
        shards, len(samples), list(classes) if labelled else [], source_bytes, packed_bytes
    )
