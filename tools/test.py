"""Evaluate a checkpoint with MMEngine's runner (OpenMMLab conventions).

python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--cfg-options k=v ...]
    [--launcher {none,pytorch,slurm}]
"""

from __future__ import annotations

import argparse
import gc
import os

from mae_plugin.engine.runtime.launch import (
    build_train_config,
    exit_launched_process,
    run_test,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description='Evaluate a checkpoint with MMEngine')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file (loaded with weights_only=True)')
    parser.add_argument('--work-dir', help='directory for the evaluation logs')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. test_dataloader.batch_size=8',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher',
    )
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    cfg = build_train_config(
        args.config, work_dir=args.work_dir, cfg_options=args.cfg_options, launcher=args.launcher
    )
    metrics = run_test(cfg, args.checkpoint)
    print(' '.join(f'{k}: {v:.2f}' for k, v in metrics.items()))
    return metrics


if __name__ == '__main__':
    main()
    gc.freeze()  # the interpreter's shutdown then skips a last collection of ~1 s
    exit_launched_process()
