"""Train-step throughput, achieved FLOP/s and peak memory of the plugin's MAE vs its peers.

    python tools/benchmark.py CONFIG [--batch-size 16] [--iters 5] [--warmup 2] [--rounds 2]
        [--amp] [--compile] [--peers plugin mask_tokens lightly hf] [--device cpu|cuda]
        [--threads N]

Every peer runs at the config's sizes, in its own fresh process, with AdamW; peers are measured
in interleaved rounds and the best round is reported (noise only slows a run down; every
round is printed). FLOPs are counted by torch's
FlopCounterMode on one forward + backward. Prints a table, the ratios to the plugin and the
fraction of the device's own measured matmul rate.

    python tools/benchmark.py CONFIG --runners [--lightning-config YAML] [--batch-size 16]
        [--iters 5] [--warmup 2] [--rounds 2] [--amp]

Runner mode: the same model and batches through MMEngine's runner (CONFIG) and through
Lightning's Trainer (YAML, default configs/lightning/<CONFIG name>.yaml), each run in a fresh
process, rounds interleaved; a step is the time between consecutive batch starts, hooks and
logging included (mae_plugin/benchmark/runners.py).

    python tools/benchmark.py CONFIG --data [--rounds 2]

Data mode: CONFIG's training pipeline against the official torchvision pipeline, and the JPEG
decoders alone, in img/s per core on generated ImageNet-like JPEGs (mae_plugin/benchmark/data.py).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> None:
    import torch

    from mae_plugin.benchmark.measure import matmul_peak_flops, measure_in_fresh_process
    from mae_plugin.benchmark.peers import PEERS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--amp', action='store_true', help='bf16 autocast')
    parser.add_argument('--compile', action='store_true', help='torch.compile every peer')
    parser.add_argument(
        '--keep-denormals',
        action='store_true',
        help='do not flush denormals to zero (training does, on CPU)',
    )
    parser.add_argument('--peers', nargs='+', default=list(PEERS), choices=PEERS)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument(
        '--runners',
        action='store_true',
        help='compare the MMEngine runner and the Lightning Trainer',
    )
    parser.add_argument('--lightning-config', help='the Lightning YAML of --runners')
    parser.add_argument('--data', action='store_true', help='time the data pipeline per core')
    args = parser.parse_args()
    if args.runners:
        return compare_runners(args)
    if args.data:
        from mae_plugin.benchmark.data import compare_pipelines

        compare_pipelines(args.config, rounds=args.rounds)
        return None

    torch.set_num_threads(args.threads)
    dtype = torch.bfloat16 if args.amp else torch.float32
    peak = matmul_peak_flops(args.device, dtype)
    print(
        f'device {args.device}, {args.threads} threads, batch {args.batch_size}, '
        f'{"bf16 autocast" if args.amp else "fp32"}{", compiled" if args.compile else ""}'
        f'{", denormals kept" if args.keep_denormals else ", denormals flushed"}; '
        f'measured {dtype} matmul peak {peak / 1e9:.1f} GFLOP/s',
        flush=True,
    )
    runs: dict[str, list[dict]] = {peer: [] for peer in args.peers}
    for round_idx in range(args.rounds):
        for peer in args.peers:
            spec = dict(
                peer=peer,
                config=args.config,
                device=args.device,
                threads=args.threads,
                batch_size=args.batch_size,
                iters=args.iters,
                warmup=args.warmup,
                amp=args.amp,
                compile=args.compile,
                flush_denormal=not args.keep_denormals,
            )
            result = measure_in_fresh_process(spec)
            runs[peer].append(result)
            print(f'  round {round_idx + 1} {peer}: {result["img_per_s"]:.2f} img/s', flush=True)
    rows = []
    for results in runs.values():
        row = dict(results[0])
        row['img_per_s'] = max(r['img_per_s'] for r in results)
        row['flop_per_s'] = row['img_per_s'] * row['gflop_per_img'] * 1e9
        row['peak_mib'] = max(r['peak_mib'] for r in results)
        rows.append(row)
    base = rows[0]['img_per_s'] if rows[0]['peer'] == 'plugin' else None
    print(
        f'{"peer":<12}{"img/s":>9}{"ratio":>8}{"GFLOP/img":>11}{"GFLOP/s":>10}'
        f'{"of peak":>9}{"peak MiB":>10}{"params M":>10}'
    )
    for r in rows:
        ratio = f'{base / r["img_per_s"]:.2f}x' if base else '-'
        print(
            f'{r["peer"]:<12}{r["img_per_s"]:>9.2f}{ratio:>8}{r["gflop_per_img"]:>11.1f}'
            f'{r["flop_per_s"] / 1e9:>10.1f}{r["flop_per_s"] / peak:>9.0%}'
            f'{r["peak_mib"]:>10.0f}{r["params_m"]:>10.2f}'
        )
    print(
        'img/s: best of the rounds; ratio = plugin img/s / peer img/s (above 1: plugin '
        'faster); peak MiB: above the imports (CPU: resident set; GPU: max allocated)'
    )


def compare_runners(args: argparse.Namespace) -> None:
    from mae_plugin.benchmark.runners import RUNNERS, measure_runner_in_fresh_process

    yaml = args.lightning_config or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        'configs',
        'lightning',
        os.path.splitext(os.path.basename(args.config))[0] + '.yaml',
    )
    print(
        f'device {args.device}, {args.threads} threads, batch {args.batch_size}, '
        f'{"bf16 autocast" if args.amp else "fp32"}; {args.config} vs {yaml}',
        flush=True,
    )
    best: dict[str, dict] = {}
    for round_idx in range(args.rounds):
        for runner in RUNNERS:
            spec = dict(
                runner=runner,
                config=args.config,
                lightning_config=yaml,
                device=args.device,
                threads=args.threads,
                batch_size=args.batch_size,
                iters=args.iters,
                warmup=args.warmup,
                amp=args.amp,
            )
            result = measure_runner_in_fresh_process(spec)
            steps = ' '.join(f'{t:.3f}' for t in result['times'])
            print(
                f'  round {round_idx + 1} {runner}: fastest {result["min_s"]:.3f}, median '
                f'{result["median_s"]:.3f} s/step (steps: {steps})',
                flush=True,
            )
            for key in ('min_s', 'median_s'):
                best.setdefault(runner, {})[key] = min(
                    best.get(runner, {}).get(key, 1e9), result[key]
                )
    print(f'{"runner":<12}{"fastest s/step":>16}{"img/s":>9}{"median s/step":>15}')
    for runner, result in best.items():
        print(
            f'{runner:<12}{result["min_s"]:>16.3f}{args.batch_size / result["min_s"]:>9.2f}'
            f'{result["median_s"]:>15.3f}'
        )
    for key, what in (('min_s', 'fastest step'), ('median_s', 'median step')):
        print(
            f'lightning / mmengine, {what}: '
            f'{best["lightning"][key] / best["mmengine"][key]:.3f} (best round of each; '
            'above 1: Lightning slower)'
        )


if __name__ == '__main__':
    main()
