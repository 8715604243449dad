"""Plot training curves of one or more runs (OpenMMLab's ``analyze_logs.py`` convention).

    python tools/analyze_logs.py plot_curve WORK_DIR [WORK_DIR ...] --keys loss lr knn_top1
        [--legend NAME ...] [--title TITLE] [--out curves.png]

Reads each work dir's ``<timestamp>/vis_data/scalars.json`` (MMEngine's LocalVisBackend; a
resumed run's folders are concatenated, later steps winning) and draws one subplot per key
against the iteration. A key missing from a log is an error listing the keys it has.
"""

import argparse

from mae_plugin.analysis.curves import plot_curves


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    tasks = parser.add_subparsers(dest='task', required=True)
    plot = tasks.add_parser('plot_curve', help='one subplot per key, x = iteration')
    plot.add_argument(
        'work_dirs', nargs='+', metavar='WORK_DIR', help="a run's work dir (or a scalars.json)"
    )
    plot.add_argument('--keys', nargs='+', default=['loss'], help='logged scalars to plot')
    plot.add_argument('--legend', nargs='+', help='one name per work dir (default: folder names)')
    plot.add_argument('--title')
    plot.add_argument('--out', default='curves.png', help='.png, .pdf or .svg')
    args = parser.parse_args(argv)
    drawn = plot_curves(args.work_dirs, args.keys, args.out, legend=args.legend, title=args.title)
    for label, curves in drawn.items():
        counts = ', '.join(f'{key}: {len(x)} points' for key, (x, _) in curves.items())
        print(f'{label}: {counts}')
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
