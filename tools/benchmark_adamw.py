"""AdamW step time, foreach vs fused, over the parameters of a config's MAE.

    python tools/benchmark_adamw.py CONFIG [--steps 10] [--rounds 3] [--threads N]

Gradients are random; each implementation steps the same parameters, rounds interleaved; the
best round of each is printed (noise on a shared machine only adds time).
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> None:
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mae_plugin.engine.registry import MODELS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        model = MODELS.build(Config.fromfile(args.config).model)
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.grad = torch.randn_like(p)
    kinds = {'foreach': dict(foreach=True), 'fused': dict(fused=True)}
    optimizers = {
        name: torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.95), weight_decay=0.05, **kw)
        for name, kw in kinds.items()
    }
    best = {name: float('inf') for name in kinds}
    for _ in range(args.rounds):
        for name, optimizer in optimizers.items():
            optimizer.step()  # warm-up (first step allocates the moments)
            start = time.perf_counter()
            for _ in range(args.steps):
                optimizer.step()
            best[name] = min(best[name], (time.perf_counter() - start) / args.steps)
    count = sum(p.numel() for p in params)
    print(f'{count / 1e6:.1f} M parameters, {args.threads} threads')
    for name, seconds in best.items():
        print(f'{name:<8} {seconds * 1e3:8.1f} ms/step')
    print(f'fused / foreach: {best["fused"] / best["foreach"]:.2f} (below 1: fused faster)')


if __name__ == '__main__':
    main()
