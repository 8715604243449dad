"""The paper's claims at small scale, with the product's own tools (docs/reproduction.md).

    python tools/reproduce.py [--work-dir work_dirs/reproduce] [--seeds 0 1] [--jobs 2]
        [--page docs/reproduction.md] [--images docs/images/reproduction] [--tiny]
        [--report-only]

Pretrains the digits MAE (configs/reproduce/) once per row and seed with tools/train.py, then
linear-probes and fine-tunes each checkpoint, and the same evaluations from a random encoder;
measures Table 2 with tools/benchmark.py. A run whose result file exists is skipped, so an
interrupted call continues. Collects every number into WORK_DIR/results.json and rewrites the
page's tables and figures from it. Needs the digits: tools/prepare_demo_data.py data/demo
--digits. --tiny: 2 iterations, one seed, one pretraining row and the scratch row (the test).
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.append(ROOT)

from reproduction import plan, report  # noqa: E402
from reproduction.execute import Runner, benchmark, write_json  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('--work-dir', default='work_dirs/reproduce')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--jobs', type=int, default=2, help='runs at a time (cores split)')
    parser.add_argument('--page', default='docs/reproduction.md')
    parser.add_argument('--images', default='docs/images/reproduction')
    parser.add_argument('--tiny', action='store_true', help='2 iterations, one seed, two rows')
    parser.add_argument(
        '--report-only', action='store_true', help='rewrite the page from results.json'
    )
    args = parser.parse_args(argv)
    if args.tiny:
        args.seeds = args.seeds[:1]
    if args.jobs < 1:
        parser.error(f'--jobs must be at least 1, got {args.jobs}')
    return args


def cpu_model() -> str:
    with open('/proc/cpuinfo', encoding='utf-8') as f:
        for line in f:
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    return platform.processor() or platform.machine()


def commit() -> str:
    out = subprocess.run(
        ['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True
    )
    return out.stdout.strip() if out.returncode == 0 else 'unknown (not a git checkout)'


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    path = os.path.join(args.work_dir, 'results.json')
    if args.report_only:
        if not os.path.isfile(path):
            raise SystemExit(f'--report-only: {path} does not exist; run without it first')
        with open(path, encoding='utf-8') as f:
            results = json.load(f)
    else:
        began = time.perf_counter()
        chains = plan.chains(args.seeds, tiny=args.tiny)
        runner = Runner(args.work_dir, args.jobs, sum(len(c) for c in chains))
        print(
            f'{runner.total} runs, {args.jobs} at a time, {runner.threads} thread(s) each; '
            f'logs in {args.work_dir}/logs',
            flush=True,
        )
        runner.run_all(chains)
        print('Table 2: tools/benchmark.py --peers plugin mask_tokens', flush=True)
        speed = benchmark(
            args.work_dir, plan.PRETRAIN, plan.TINY_BENCHMARK if args.tiny else plan.BENCHMARK
        )
        print(f'  speed-up {speed["speedup"]:.2f}x', flush=True)
        results = dict(
            seeds=args.seeds,
            tiny=args.tiny,
            runs=runner.results,
            speed=speed,
            meta=dict(
                date=datetime.date.today().isoformat(),
                cpu=cpu_model(),
                cores=os.cpu_count(),
                jobs=args.jobs,
                threads=runner.threads,
                wall_min=(time.perf_counter() - began) / 60,
                command=' '.join(['python tools/reproduce.py', *(argv or sys.argv[1:])]),
                commit=commit(),
            ),
        )
        write_json(results, path)
    report.write_page(args.page, report.blocks(results, args.work_dir, args.page, args.images))
    print(f'{path}, {args.page} and {args.images}/ written', flush=True)


if __name__ == '__main__':
    main()
