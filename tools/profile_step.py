"""The top operators of the plugin's MAE training step (torch.profiler, self time).

    python tools/profile_step.py CONFIG [--batch-size 16] [--steps 2] [--amp] [--top 15]
        [--threads N]

Builds the config's model, steps it as ``tools/benchmark.py``'s ``plugin`` peer does (the
config's AdamW options, bf16 autocast with ``--amp``, denormals flushed) after one warm-up
step, and prints the operators by self CPU time.
"""

import argparse
import os
import sys
from contextlib import nullcontext

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> None:
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from torch.profiler import ProfilerActivity, profile

    from mae_plugin.engine.registry import MODELS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--steps', type=int, default=2)
    parser.add_argument('--amp', action='store_true')
    parser.add_argument('--top', type=int, default=15)
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(0)
    cfg = Config.fromfile(args.config)
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        mae = MODELS.build(cfg.model).mae
    options = cfg.optim_wrapper.optimizer
    switches = {k: options[k] for k in ('fused', 'foreach') if k in options}
    optimizer = torch.optim.AdamW(
        [p for p in mae.parameters() if p.requires_grad], lr=1e-4, weight_decay=0.05, **switches
    )
    size = mae.encoder.grid_size[0] * mae.patch_size
    images = torch.randn(args.batch_size, 3, size, size)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast('cpu', dtype=torch.bfloat16) if args.amp else nullcontext():
            loss = mae(images).loss
        loss.backward()
        optimizer.step()

    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step()
    print(
        f'{args.config}, batch {args.batch_size}, {"bf16 autocast" if args.amp else "fp32"}, '
        f'{args.threads} threads, AdamW {switches or "default"}, {args.steps} steps'
    )
    table = prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=args.top)
    print(table)


if __name__ == '__main__':
    main()
