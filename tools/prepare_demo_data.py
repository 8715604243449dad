"""Write scikit-image's sample photographs as an image folder: ``OUT/train/*.jpg``, and a
labelled tile split for the kNN monitor and classification: ``OUT/knn/{train,val}/<photo>/*.jpg``,
a segmentation set in the ADE20K layout: ``OUT/seg/{images,annotations}/{training,validation}``,
and an instance set in the COCO layout: ``OUT/coco/{train,val}``, ``OUT/coco/annotations``.
With ``--digits``, also scikit-learn's 1,797 handwritten digits at 32 px:
``OUT/digits/{train,val}/<digit>/*.png`` (configs/mae_vit-t_digits.py).

    python tools/prepare_demo_data.py [OUT] [--digits]      (default: data/demo)
"""

import argparse
import os

# tools/demo_data.py, beside this script: Python looks in a script's own folder first (the
# tests and benchmarks/ import it as tools.demo_data)
from demo_data import (
    prepare_coco_split,
    prepare_demo_images,
    prepare_digits,
    prepare_knn_split,
    prepare_seg_split,
)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', nargs='?', default='data/demo')
    parser.add_argument(
        '--digits',
        action='store_true',
        help="also write scikit-learn's handwritten digits (needs scikit-learn)",
    )
    args = parser.parse_args(argv)
    paths = prepare_demo_images(args.out)
    print(f'{len(paths)} demo images in {os.path.join(args.out, "train")}')
    train, val = prepare_knn_split(args.out)
    print(f'kNN split: {train} train / {val} val tiles in {os.path.join(args.out, "knn")}')
    train, val = prepare_seg_split(args.out)
    print(
        f'segmentation set: {train} training / {val} validation photographs with label maps '
        f'in {os.path.join(args.out, "seg")}'
    )
    train, val = prepare_coco_split(args.out)
    print(
        f'COCO set: {train} train / {val} val images of coins with instance masks in '
        f'{os.path.join(args.out, "coco")}'
    )
    if args.digits:
        train, val = prepare_digits(args.out)
        print(
            f'digits: {train} train / {val} val handwritten digits of 32 px in '
            f'{os.path.join(args.out, "digits")}'
        )


if __name__ == '__main__':
    main()
