"""Memory per GPU on paper for MAE pretraining configs, DDP against MAEFSDP2Strategy.

    python tools/memory_on_paper.py [CONFIG ...] [--gpus 8] [--images 64 128 256]

Builds each config's model on the ``meta`` device (shapes only, nothing allocated) and prints
the GiB per GPU of docs/scaling.md (the formulas: benchmarks/memory.py).
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# benchmarks/ lives in the checkout, not in the wheel. Appended, not inserted: the installed
# mae_plugin still comes first, and only what nothing installed provides is found here.
if ROOT not in sys.path:
    sys.path.append(ROOT)

DEFAULT = {
    'B/16': 'configs/mae_vit-b_800e.py',
    'L/16': 'configs/mae_vit-l_800e.py',
    'H/14': 'configs/mae_vit-h_1600e.py',
    'g/14': 'configs/mae_vit-g_1600e_fsdp.py',
}


def main(argv=None) -> None:
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import mae_plugin  # noqa: F401  (registers)
    from benchmarks.memory import memory_model, memory_table
    from mae_plugin.engine.registry import MODELS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='*', help='configs (default: B, L, H, g)')
    parser.add_argument('--gpus', type=int, default=8)
    parser.add_argument('--images', type=int, nargs='+', default=[64, 128, 256])
    args = parser.parse_args(argv)
    paths = {os.path.basename(p): p for p in args.configs} or DEFAULT
    DefaultScope.get_instance('memory_on_paper', scope_name='mae_plugin')
    models = {}
    for name, path in paths.items():
        cfg = Config.fromfile(path)
        with torch.device('meta'):
            model = MODELS.build(cfg.model)
        models[name] = memory_model(model.mae, cfg.model.get('mask_ratio', 0.75))
        m = models[name]
        print(
            f'{name}: {m.params:,} parameters ({m.trained:,} trained); activations per image '
            f'{m.activations_per_image / 2**20:.1f} MiB, with checkpointing '
            f'{m.checkpointed_per_image / 2**20:.1f} MiB'
        )
    print()
    print(memory_table(models, args.gpus, tuple(args.images)))


if __name__ == '__main__':
    main()
