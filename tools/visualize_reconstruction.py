"""Draw MAE reconstructions: one row per image, original | masked | reconstruction |
reconstruction with the visible patches pasted back (norm-pix undone with each true patch's
mean and std, for real colours), panels enlarged to at least 224 px under a header naming them.

    python tools/visualize_reconstruction.py CONFIG CHECKPOINT IMAGE [IMAGE ...] --out FILE.png
        [--mask-ratio 0.75] [--seed 0] [--strategy random|block|grid] [--device cpu]
        [--no-norm-pix]   (for checkpoints trained on raw pixels: official mae_visualize_*)

IMAGE: any file the training reads, 16-bit and 32-bit ones by the rule of
``mae_plugin.data.image.to_rgb`` (their contrast kept, as in training).
"""

import argparse
import os


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help='any format the plugin reads (official, plugin, ...)')
    parser.add_argument('images', nargs='+')
    parser.add_argument('--out', required=True, help='PNG file to write')
    parser.add_argument('--mask-ratio', type=float, default=0.75)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--strategy', default='random', choices=['random', 'block', 'grid'])
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--no-norm-pix',
        action='store_true',
        help='the checkpoint was trained on raw pixels (the official '
        'mae_visualize_vit_*.pth releases)',
    )
    args = parser.parse_args(argv)

    import torch
    from PIL import Image

    from mae_plugin.apis import init_model
    from mae_plugin.data import read_center_crop
    from mae_plugin.engine.hooks.reconstruction import reconstruction_picture
    from mae_plugin.fileio import atomic_open
    from mae_plugin.models.masking import fixed_masks

    model = init_model(
        args.config,
        args.checkpoint,
        device=args.device,
        norm_pix=False if args.no_norm_pix else None,
    )
    grid = model.mae.encoder.grid_size
    size = grid[0] * model.mae.patch_size
    images = torch.stack([read_center_crop(path, size) for path in args.images])
    masks = fixed_masks(grid, len(args.images), args.mask_ratio, args.strategy, args.seed)
    picture = reconstruction_picture(model, images.to(args.device), masks)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with atomic_open(args.out) as f:  # a killed run leaves no half-written picture
        Image.fromarray(picture).save(f, format='PNG')
    print(f'wrote {args.out} ({picture.shape[1]}x{picture.shape[0]}, {len(args.images)} rows)')


if __name__ == '__main__':
    main()
