"""Pack an image folder into tar shards for ``MAEShardStream`` (configs/mae_vit-t_demo_shards.py).

    python tools/pack_shards.py SRC OUT [--max-side 320] [--shard-size 1000] [--quality 90]

SRC: images, directly or in class folders (ImageNet layout); 16-bit and 32-bit files are brought to
8 bits by the rule of ``mae_plugin.data.image.to_rgb``. OUT gets ``shard-000000.tar`` ...,
``manifest.tsv`` and, with class folders, ``classes.txt``.
"""

import argparse

from mae_plugin.data.pack import pack_folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='image folder (class sub-folders optional)')
    parser.add_argument('out', help='folder for the shards (must hold no shards yet)')
    parser.add_argument('--max-side', type=int, default=320, help='longer side limit, pixels')
    parser.add_argument('--shard-size', type=int, default=1000, help='images per shard')
    parser.add_argument('--quality', type=int, default=90, help='JPEG quality of the re-encoding')
    parser.add_argument('--seed', type=int, default=0, help='seed of the packing order')
    args = parser.parse_args()
    report = pack_folder(
        args.src, args.out, args.max_side, args.shard_size, args.quality, args.seed
    )
    ratio = report.packed_bytes / max(report.source_bytes, 1)
    print(
        f'{report.images} images -> {len(report.shards)} shards in {args.out} '
        f'({len(report.classes)} classes; JPEG bytes {ratio:.2f} x the originals)'
    )


if __name__ == '__main__':
    main()
