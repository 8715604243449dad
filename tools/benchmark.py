"""Speed and memory of the plugin's MAE: one tool, one mode per question.

    python tools/benchmark.py CONFIG [--peers plugin mask_tokens lightly hf] [--batch-size 16]
        [--iters 5] [--warmup 2] [--rounds 2] [--amp] [--compile] [--keep-denormals]
    python tools/benchmark.py CONFIG --runners [--lightning-config YAML] [--batch-size 16]
        [--iters 5] [--warmup 2] [--rounds 2] [--amp]
    python tools/benchmark.py CONFIG --data [--rounds 2]
    python tools/benchmark.py CONFIG --adamw [--iters 10] [--rounds 3]
    python tools/benchmark.py CONFIG --attention [--batch-size 16] [--iters 20] [--rounds 3]
    python tools/benchmark.py CONFIG --profile [--batch-size 16] [--iters 2] [--amp] [--top 15]
    python tools/benchmark.py CONFIG --decode WORK_DIR [--rounds 3] [--imagenet 200]
        [--src data/demo/train]

Modes (one at a time; ``--device`` and ``--threads`` apply to all but --data and --decode,
which measure one CPU core); each prints the device, threads and device model first:

- (default) peers: train-step img/s, achieved FLOP/s and peak memory of the plugin's MAE
  against its peers at CONFIG's sizes, each in a fresh process (benchmarks/measure.py).
- --runners: the same step through MMEngine's runner (CONFIG) and Lightning's Trainer (YAML,
  default configs/lightning/<CONFIG name>.yaml), hooks and logging included (runners.py).
- --data: CONFIG's training pipeline against the official torchvision one, and the JPEG
  decoders alone, in img/s per core on generated ImageNet-like JPEGs (data.py).
- --adamw: foreach vs fused AdamW step time over CONFIG's MAE parameters (kernels.py).
- --attention: forward + backward time of each SDPA backend at CONFIG's encoder and decoder
  attention shapes, fp32 and bf16 (kernels.py).
- --profile: the top operators of CONFIG's training step by self time (profile.py).
- --decode: per-core decode speed of tar shards against the original JPEGs, plain and through
  CONFIG's MAELoadRandomResizedCrop; packs and caches in WORK_DIR (decode.py).

Rounds are interleaved and the best round is reported: noise only slows a run down.
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# benchmarks/ lives in the checkout, not in the wheel. Appended, not inserted: the installed
# mae_plugin still comes first, and only what nothing installed provides is found here.
if ROOT not in sys.path:
    sys.path.append(ROOT)

MODES = ('runners', 'data', 'adamw', 'attention', 'profile', 'decode')
ITERS = {'peers': 5, 'runners': 5, 'adamw': 10, 'attention': 20, 'profile': 2}
ROUNDS = {'peers': 2, 'runners': 2, 'data': 2, 'adamw': 3, 'attention': 3, 'decode': 3}
ONE_CORE = ('data', 'decode')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('config')
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument('--runners', action='store_true', help='MMEngine runner vs Lightning')
    mode.add_argument('--data', action='store_true', help='the data pipeline per core')
    mode.add_argument('--adamw', action='store_true', help='foreach vs fused AdamW')
    mode.add_argument('--attention', action='store_true', help='SDPA backends at the shapes')
    mode.add_argument('--profile', action='store_true', help='top operators of one step')
    mode.add_argument('--decode', metavar='WORK_DIR', help='tar shards vs JPEG files per core')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--iters', type=int, help=f'default per mode: {ITERS}')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--rounds', type=int, help=f'default per mode: {ROUNDS}')
    parser.add_argument('--amp', action='store_true', help='bf16 autocast')
    parser.add_argument('--compile', action='store_true', help='torch.compile every peer')
    parser.add_argument(
        '--keep-denormals',
        action='store_true',
        help='do not flush denormals to zero (training does, on CPU)',
    )
    parser.add_argument('--peers', nargs='+', default=None, help='plugin mask_tokens lightly hf')
    parser.add_argument('--device', help='cuda where available, else cpu')
    parser.add_argument('--threads', type=int, help='default: torch.get_num_threads()')
    parser.add_argument('--lightning-config', help='the Lightning YAML of --runners')
    parser.add_argument('--top', type=int, default=15, help='operators --profile prints')
    parser.add_argument('--imagenet', type=int, default=200, help='ImageNet-like JPEGs, --decode')
    parser.add_argument('--src', default='data/demo/train', help='photographs of --decode')
    args = parser.parse_args()
    args.mode = next((m for m in MODES if getattr(args, m)), 'peers')
    if args.mode in ONE_CORE and (
        args.device not in (None, 'cpu') or args.threads not in (None, 1)
    ):
        parser.error(f'--{args.mode} measures one CPU core; --device and --threads do not apply')
    if args.mode == 'peers':
        from benchmarks.peers import PEERS

        unknown = sorted(set(args.peers or ()) - set(PEERS))
        if unknown:
            parser.error(f'unknown peers {unknown}; choose from {list(PEERS)}')
        args.peers = args.peers or list(PEERS)
    if args.iters is None:
        args.iters = ITERS.get(args.mode)
    if args.rounds is None:
        args.rounds = ROUNDS.get(args.mode)
    return args


def main() -> None:
    args = parse_args()
    import torch

    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    threads = args.threads or torch.get_num_threads()
    common = dict(config=args.config, device=device, threads=threads)
    if args.mode == 'peers':
        from benchmarks.measure import compare_peers

        compare_peers(
            **common,
            peers=args.peers,
            batch_size=args.batch_size,
            iters=args.iters,
            warmup=args.warmup,
            rounds=args.rounds,
            amp=args.amp,
            compile=args.compile,
            flush_denormal=not args.keep_denormals,
        )
    elif args.mode == 'runners':
        from benchmarks.runners import compare_runners

        yaml = args.lightning_config or os.path.join(
            ROOT,
            'configs',
            'lightning',
            os.path.splitext(os.path.basename(args.config))[0] + '.yaml',
        )
        compare_runners(
            **common,
            lightning_config=yaml,
            batch_size=args.batch_size,
            iters=args.iters,
            warmup=args.warmup,
            rounds=args.rounds,
            amp=args.amp,
        )
    elif args.mode == 'data':
        from benchmarks.data import compare_pipelines

        compare_pipelines(args.config, rounds=args.rounds)
    elif args.mode == 'adamw':
        from benchmarks.kernels import compare_adamw

        compare_adamw(**common, iters=args.iters, rounds=args.rounds)
    elif args.mode == 'attention':
        from benchmarks.kernels import compare_attention

        compare_attention(
            **common, batch_size=args.batch_size, iters=args.iters, rounds=args.rounds
        )
    elif args.mode == 'profile':
        from benchmarks.profile import profile_step

        profile_step(
            **common, batch_size=args.batch_size, iters=args.iters, amp=args.amp, top=args.top
        )
    else:
        from benchmarks.decode import compare_decoding

        compare_decoding(
            args.config, args.decode, src=args.src, rounds=args.rounds, imagenet=args.imagenet
        )


if __name__ == '__main__':
    main()
