"""Forward + backward time of each SDPA backend at the MAE's attention shapes.

    python tools/benchmark_attention.py [--batch-size 16] [--iters 20] [--rounds 3]
        [--device cpu|cuda] [--threads N]

Shapes of ViT-B MAE: the encoder's 12 heads x 64 dims over 50 tokens (1 + 49 visible), the
decoder's 16 heads x 32 dims over 197 tokens; fp32 and bf16. Backends a device lacks print as
'-'; rounds are interleaved and the best is printed (noise only adds time).
"""

import argparse
import time


def main() -> None:
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.nn.functional import scaled_dot_product_attention as sdpa

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    backends = {
        'math': SDPBackend.MATH,
        'flash': SDPBackend.FLASH_ATTENTION,
        'efficient': SDPBackend.EFFICIENT_ATTENTION,
    }
    shapes = {'encoder': (12, 50, 64), 'decoder': (16, 197, 32)}

    def run(backend, q) -> None:
        with sdpa_kernel(backend):
            sdpa(q, q, q).sum().backward()

    best: dict[tuple, float] = {}
    for _ in range(args.rounds):
        for dtype in (torch.float32, torch.bfloat16):
            for part, (heads, tokens, dim) in shapes.items():
                q = torch.randn(args.batch_size, heads, tokens, dim, device=args.device)
                q = q.to(dtype).requires_grad_()
                for name, backend in backends.items():
                    key = (part, str(dtype).split('.')[-1], name)
                    try:
                        run(backend, q)
                    except RuntimeError:
                        best[key] = float('nan')
                        continue
                    if args.device.startswith('cuda'):
                        torch.cuda.synchronize()
                    start = time.perf_counter()
                    for _ in range(args.iters):
                        run(backend, q)
                    if args.device.startswith('cuda'):
                        torch.cuda.synchronize()
                    took = (time.perf_counter() - start) / args.iters
                    best[key] = min(best.get(key, float('inf')), took)
    print(f'device {args.device}, {args.threads} threads, batch {args.batch_size}; ms per fwd+bwd')
    print(f'{"part":<9}{"dtype":<10}' + ''.join(f'{n:>11}' for n in backends))
    for part in shapes:
        for dtype in ('float32', 'bfloat16'):
            cells = [best[(part, dtype, n)] for n in backends]
            row = ''.join('          -' if c != c else f'{c * 1e3:>11.2f}' for c in cells)
            print(f'{part:<9}{dtype:<10}{row}')


if __name__ == '__main__':
    main()
