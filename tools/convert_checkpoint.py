"""Convert MAE checkpoints between the official release, timm, lightly, mmpretrain, Hugging Face
(hf) and plugin.

    python tools/convert_checkpoint.py IN OUT [--from FORMAT] --to FORMAT
        [--img-size H [W]] [--src-img-size H [W]] [--keep-optimizer]
        [--norm-pix | --no-norm-pix] [--mask-ratio R] [--num-heads N] [--decoder-num-heads N]
        [--lightly-head-classes N]

The source format is detected when --from is absent. IN may be a Hugging Face folder
(config.json + model.safetensors or pytorch_model.bin). Everything is read without running
code: ``torch.load(weights_only=True)``, ``safetensors``, JSON; a report lists what was used,
dropped and resampled. OUT ending in .safetensors is written as safetensors (timm, hf, lightly);
--to hf writes a folder whose config.json takes --norm-pix/--no-norm-pix, --mask-ratio and the
head counts from the options, else from what IN says (a Hugging Face config.json; the
``mae_model`` entry of the checkpoints plugin training and Lightning write), else the paper's
values (the report says which); norm-pix has no default: give it for a decoder of any other
source. --img-size resamples the position tables to that input size's patch grid.
--src-img-size gives the input size the source's tables were made for, when the file does not
record it (plugin checkpoints, Lightning .ckpt and Hugging Face folders do): a table whose
entry count is not a square is an error without it, one whose count is a square is read as
square and the report says so. --to lightly writes the layout of lightly's MAE example
(decoder_embed, MaskedVisionTransformerDecoderTIMM, prediction_head) with a zero classifier of
--lightly-head-classes classes (default 1000, as its timm ViT; 0 for none).
"""

import argparse

from mae_plugin.checkpoints import FORMATS, WRITABLE
from mae_plugin.checkpoints.convert import convert_checkpoint


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src')
    parser.add_argument('dst')
    parser.add_argument('--from', dest='fmt', choices=sorted(FORMATS))
    parser.add_argument('--to', required=True, choices=sorted(WRITABLE))
    parser.add_argument('--img-size', type=int, nargs='+', metavar='H [W]')
    parser.add_argument('--src-img-size', type=int, nargs='+', metavar='H [W]')
    parser.add_argument('--keep-optimizer', action='store_true')
    hf = parser.add_argument_group('--to hf (config.json fields the weights do not hold)')
    hf.add_argument(
        '--norm-pix',
        action=argparse.BooleanOptionalAction,
        default=None,
        help='the decoder predicts normalised pixels (norm_pix_loss)',
    )
    hf.add_argument('--mask-ratio', type=float)
    hf.add_argument('--num-heads', type=int)
    hf.add_argument('--decoder-num-heads', type=int)
    parser.add_argument(
        '--lightly-head-classes',
        type=int,
        help="--to lightly: classes of the zero classifier written for lightly's example "
        '(default 1000; 0: none)',
    )
    args = parser.parse_args(argv)
    for name in ('img_size', 'src_img_size'):
        size = getattr(args, name)
        if size is not None and len(size) > 2:
            parser.error(f'--{name.replace("_", "-")} takes H or H W, got {size}')
        setattr(args, name, tuple((size * 2)[:2]) if size else None)
    conv = convert_checkpoint(
        args.src,
        args.dst,
        args.to,
        fmt=args.fmt,
        img_size=args.img_size,
        keep_optimizer=args.keep_optimizer,
        src_img_size=args.src_img_size,
        norm_pix=args.norm_pix,
        mask_ratio=args.mask_ratio,
        num_heads=args.num_heads,
        decoder_num_heads=args.decoder_num_heads,
        lightly_head_classes=args.lightly_head_classes,
    )
    print(conv.report())
    print(f'wrote {args.dst} ({args.to} format)')


if __name__ == '__main__':
    main()
