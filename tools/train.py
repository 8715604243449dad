"""Train with MMEngine's runner (OpenMMLab conventions).

python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
    [--cfg-options k=v ...] [--launcher {none,pytorch,slurm}]
torchrun --nproc_per_node=N tools/train.py CONFIG --launcher pytorch
"""

from __future__ import annotations

import argparse
import gc
import os

from mae_plugin.engine.runtime.launch import (
    build_train_config,
    exit_launched_process,
    run_training,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description='Train a model with MMEngine')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='directory for logs and checkpoints')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from CKPT, or from the latest checkpoint in the work dir',
    )
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision: fp16 AMP on GPU, bf16 autocast on CPU'
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. train_cfg.max_iters=10',
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


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    cfg = build_train_config(
        args.config,
        work_dir=args.work_dir,
        resume=args.resume,
        amp=args.amp,
        cfg_options=args.cfg_options,
        launcher=args.launcher,
    )
    run_training(cfg)


if __name__ == '__main__':
    main()
    gc.freeze()  # the interpreter's shutdown then skips a last collection of ~1 s
    exit_launched_process()
