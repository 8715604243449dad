"""The runs behind docs/reproduction.md: which config, which overrides, in which order.

Every row is a command of the product's own tools (``tools/train.py``, ``tools/benchmark.py``);
a row differs from the baseline (configs/reproduce/mae_vit-t_digits.py: mask ratio 0.75, decoder
of 2 blocks, norm-pix target) in one ``--cfg-options`` group. A pretraining run is followed by
its linear probe and its fine-tuning, from its last checkpoint, with the same seed: one chain.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from mmengine.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRETRAIN = 'configs/reproduce/mae_vit-t_digits.py'
LINPROBE = 'configs/reproduce/vit-t-mae_linprobe_digits.py'
FINETUNE = 'configs/reproduce/vit-t-mae_finetune_digits.py'
LINPROBE_SCRATCH = 'configs/reproduce/vit-t_linprobe_digits_scratch.py'
FINETUNE_SCRATCH = 'configs/reproduce/vit-t_finetune_digits_scratch.py'
# index of MAEMaskGenerator in the digits pipeline; check_mask_ratio verifies it
MASK_STEP = 2


def _mask(ratio: float) -> list[str]:
    # the model's ratio (how many tokens it keeps) and the pipeline's (the mask it draws) agree
    return [
        f'model.mask_ratio={ratio}',
        f'train_dataloader.dataset.pipeline.{MASK_STEP}.mask_ratio={ratio}',
    ]


# variant -> overrides of the baseline pretraining; 'mask0.75' is the baseline itself
VARIANTS: dict[str, list[str]] = {
    'mask0.25': _mask(0.25),
    'mask0.50': _mask(0.5),
    'mask0.75': [],
    'mask0.90': _mask(0.9),
    'dec1': ['model.decoder.depth=1'],
    'dec8': ['model.decoder.depth=8'],
    'raw': ['model.loss.norm_pix=False'],
}
SCRATCH = 'scratch'  # the evaluations from a random encoder, no pretraining
TINY_VARIANTS = ('mask0.75',)
# --tiny: 2 iterations at batch 8, no loader workers; the full schedule is the configs'
TINY_PRETRAIN = [
    'train_cfg.max_iters=2',
    'train_dataloader.batch_size=8',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'default_hooks.logger.interval=1',
    'default_hooks.knn.interval=2',
    'default_hooks.visualization.interval=2',
]
TINY_EVAL = [
    'train_cfg.max_iters=2',
    'train_cfg.val_interval=2',
    'default_hooks.logger.interval=1',
    'train_dataloader.batch_size=8',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False',
]
BENCHMARK = ['--peers', 'plugin', 'mask_tokens', '--batch-size', '64', '--iters', '10']
TINY_BENCHMARK = [
    '--peers',
    'plugin',
    'mask_tokens',
    '--batch-size',
    '4',
    '--iters',
    '1',
    '--warmup',
    '0',
    '--rounds',
    '1',
]


@dataclass
class Run:
    """One ``tools/train.py`` run: ``kind`` is pretrain, linprobe or finetune; ``name`` the
    variant and seed (``mask0.75_seed0``); ``init_from`` the pretraining run whose last
    checkpoint it starts from (None: the config's own init, random for scratch)."""

    kind: str
    variant: str
    seed: int
    config: str
    options: list[str] = field(default_factory=list)
    init_from: Run | None = None

    @property
    def name(self) -> str:
        return f'{self.variant}_seed{self.seed}'

    @property
    def key(self) -> str:
        """``kind/name``: the run's folder under the work root and its key in results.json."""
        return f'{self.kind}/{self.name}'

    def work_dir(self, root: str) -> str:
        return os.path.join(root, self.kind, self.name)

    def command(self, root: str, checkpoint: str | None = None) -> list[str]:
        """The tool line (paths of tools and configs relative to the repository)."""
        options = [f'randomness.seed={self.seed}', *self.options]
        if checkpoint is not None:
            options.append(f'model.init_cfg.checkpoint={checkpoint}')
        return [
            'tools/train.py',
            self.config,
            '--work-dir',
            self.work_dir(root),
            '--cfg-options',
            *options,
        ]


def chains(seeds: list[int], tiny: bool = False) -> list[list[Run]]:
    """The runs, as chains that must run in order (pretrain -> linprobe -> finetune); chains are
    independent of each other. The longest chains (more visible tokens, deeper decoders) first,
    so two workers finish together."""
    extra_pre = TINY_PRETRAIN if tiny else []
    extra_eval = TINY_EVAL if tiny else []
    out = []
    for seed in seeds:
        for variant in TINY_VARIANTS if tiny else VARIANTS:
            pre = Run('pretrain', variant, seed, PRETRAIN, [*VARIANTS[variant], *extra_pre])
            out.append(
                [
                    pre,
                    Run('linprobe', variant, seed, LINPROBE, list(extra_eval), init_from=pre),
                    Run('finetune', variant, seed, FINETUNE, list(extra_eval), init_from=pre),
                ]
            )
        out.append(
            [
                Run('linprobe', SCRATCH, seed, LINPROBE_SCRATCH, list(extra_eval)),
                Run('finetune', SCRATCH, seed, FINETUNE_SCRATCH, list(extra_eval)),
            ]
        )
    order = {'mask0.25': 0, 'dec8': 1, 'mask0.50': 2}
    return sorted(out, key=lambda c: order.get(c[0].variant, 3))


def check_mask_ratio(run: Run) -> None:
    """The masks the pipeline draws and the ratio the model keeps agree after ``run``'s
    overrides (a wrong ``MASK_STEP`` would mask at one ratio and encode at another)."""
    cfg = Config.fromfile(os.path.join(ROOT, run.config), import_custom_modules=False)
    cfg.merge_from_dict(dict(o.split('=', 1) for o in run.options), allow_list_keys=True)
    step = cfg.train_dataloader.dataset.pipeline[MASK_STEP]
    if step.get('type') != 'MAEMaskGenerator' or float(step.mask_ratio) != float(
        cfg.model.mask_ratio
    ):
        raise ValueError(
            f'{run.key}: train_dataloader.dataset.pipeline.{MASK_STEP} of {run.config} is '
            f'{dict(step)}, not an MAEMaskGenerator at model.mask_ratio={cfg.model.mask_ratio}'
        )
