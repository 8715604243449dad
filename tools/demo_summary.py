"""The end of ``make demo``: draw the curves of a finished run into ``WORK_DIR/curves.png`` and
print where its checkpoint, pictures and curves are, then the commands to run next.

    python tools/demo_summary.py WORK_DIR [--keys loss knn_top1] [--config CONFIG]

CONFIG (for the reconstruction command) defaults to ``configs/<name of WORK_DIR>.py`` when
that file exists. A missing checkpoint, picture or logged key is an error naming it.
"""

import argparse
import os

from mae_plugin.analysis.summary import format_summary, summarize


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir', metavar='WORK_DIR')
    parser.add_argument('--keys', nargs='+', default=['loss', 'knn_top1'])
    parser.add_argument('--config', help='default: configs/<name of WORK_DIR>.py if it exists')
    args = parser.parse_args(argv)
    config = args.config
    if config is None:
        name = os.path.basename(os.path.normpath(args.work_dir))
        candidate = os.path.join('configs', f'{name}.py')
        config = candidate if os.path.isfile(candidate) else None
    print(format_summary(summarize(args.work_dir, args.keys), config))


if __name__ == '__main__':
    main()
