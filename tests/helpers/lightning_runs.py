"""Tiny Lightning runs: the demo YAML shrunk to a depth-2 MAE, in process or through the CLI
(``tools/train_lightning.py``)."""

import json
import os
import sys
from pathlib import Path
from unittest import mock

from tests.helpers.paths import LIGHTNING
from tests.helpers.paths import TRAIN_LIGHTNING as TRAIN
from tests.helpers.ports import free_port
from tests.helpers.processes import environment, run

DEMO_YAML = os.path.join(LIGHTNING, 'mae_vit-t_demo.yaml')
PROBES = 'tests.helpers.scripts.lightning_probes'

# The demo's input (64 px, patch 8) with a depth-2 encoder and a depth-1 decoder: seconds a run.
TINY = [
    '--model.embed_dim',
    '48',
    '--model.depth',
    '2',
    '--model.num_heads',
    '3',
    '--model.decoder_embed_dim',
    '32',
    '--model.decoder_depth',
    '1',
    '--model.decoder_num_heads',
    '2',
    '--data.batch_size',
    '4',
    '--data.num_workers',
    '0',
    '--data.repeat',
    '1',
    '--trainer.enable_progress_bar',
    'false',
    '--trainer.enable_model_summary',
    'false',
]


def checkpoint_every(steps, **kwargs):
    """A ``ModelCheckpoint`` spec: ``step_<N>.ckpt`` every ``steps`` steps, all kept, and
    ``last.ckpt``."""
    return {
        'class_path': 'pytorch_lightning.callbacks.ModelCheckpoint',
        'init_args': {
            'filename': 'step_{step}',
            'auto_insert_metric_name': False,
            'every_n_train_steps': steps,
            'save_top_k': -1,
            'save_last': True,
            **kwargs,
        },
    }


# Lightning places the batches of another layout only after an epoch-end checkpoint
EPOCH_END = {
    'class_path': 'pytorch_lightning.callbacks.ModelCheckpoint',
    'init_args': {
        'filename': 'epoch_{epoch}',
        'auto_insert_metric_name': False,
        'every_n_epochs': 1,
        'save_top_k': -1,
        'save_on_train_epoch_end': True,
    },
}


def probe(name, out):
    """The spec of the callback ``name`` of tests/helpers/scripts/lightning_probes.py, writing
    to ``out``."""
    return {'class_path': f'{PROBES}.{name}', 'init_args': {'out': str(out)}}


def step_recorder(out):
    """A ``StepRecorder`` spec: the step and lr of every batch, appended to ``out``."""
    return probe('StepRecorder', out)


def demo_callbacks(data_root, every=100):
    """The demo YAML's callbacks, the kNN monitor reading ``data_root/knn``."""
    return [
        checkpoint_every(every),
        {
            'class_path': 'mae_plugin.lightning.ReconstructionCallback',
            'init_args': {'every_n_steps': every},
        },
        {
            'class_path': 'mae_plugin.lightning.KNNMonitor',
            'init_args': {'data_root': os.path.join(data_root, 'knn'), 'every_n_steps': every},
        },
    ]


def tiny_args(root, data_root, *extra, callbacks=None):
    """CLI arguments of the tiny demo run in folder ``root`` on ``data_root`` (5 steps an epoch
    on the 20 demo photographs, 2 epochs), then ``extra``. ``callbacks``: trainer callback
    specs (default: the demo's)."""
    callbacks = demo_callbacks(data_root) if callbacks is None else callbacks
    return [
        '--config',
        DEMO_YAML,
        *TINY,
        '--data.data_root',
        data_root,
        '--trainer.default_root_dir',
        str(root),
        '--trainer.max_epochs',
        '2',
        '--model.warmup_epochs',
        '1',
        # emptied first: jsonargparse merges a list given over one of the same length item
        # by item (init_args of the same class_path kept)
        '--trainer.callbacks',
        '[]',
        '--trainer.callbacks',
        json.dumps(callbacks),
        *extra,
    ]


def two_process_fit(root, data_root, strategy, *extra, callbacks, check=True):
    """``tools/train_lightning.py fit`` of the tiny run on 2 CPU processes under ``strategy``
    (Lightning starts the second one): (exit code, output)."""
    args = tiny_args(
        root,
        data_root,
        '--trainer.accelerator',
        'cpu',
        '--trainer.devices',
        '2',
        '--trainer.strategy',
        strategy,
        *extra,
        callbacks=callbacks,
    )
    return run_cli(['fit', *args], check=check)


TWO_PROCESS_STRATEGIES = ('ddp', 'mae_fsdp2')


def build_two_process_fits(folder: Path, data_root: str) -> None:
    """``folder/<strategy>`` for each of TWO_PROCESS_STRATEGIES: the tiny run on 2 CPU
    processes (2 optimizer steps an epoch, 4 in all) with checkpoints/step_2.ckpt, step_4.ckpt
    and last.ckpt (every 2 steps), epoch_0.ckpt and epoch_1.ckpt (at each epoch's end), the
    step and lr of every batch of both ranks (steps.jsonl), the parameter elements each rank
    held (probe/rank<R>.pt), under DDP the gradients, masks and weights of DDPProbe
    (probe/probe_rank<R>.pt), and the run's output (output.txt)."""
    for strategy in TWO_PROCESS_STRATEGIES:
        root = folder / strategy
        callbacks = [checkpoint_every(2), EPOCH_END, step_recorder(root / 'steps.jsonl')]
        callbacks.append(probe('ShardProbe', root / 'probe'))
        if strategy == 'ddp':
            callbacks.append(probe('DDPProbe', root / 'probe'))
        _, out = two_process_fit(root, data_root, strategy, callbacks=callbacks)
        (root / 'output.txt').write_text(out)


def tiny_cli(root, data_root, *extra, callbacks=None):
    """The ``MAELightningCLI`` of the tiny run, classes built, nothing run."""
    return build_cli(tiny_args(root, data_root, *extra, callbacks=callbacks))


def build_cli(args):
    """``MAELightningCLI(args, run=False)``, as if run with nothing else on the command line."""
    from mae_plugin.lightning.cli import MAELightningCLI

    with mock.patch.object(sys, 'argv', [TRAIN]):
        return MAELightningCLI(args=[str(a) for a in args], run=False)


def run_in_process(args):
    """``python tools/train_lightning.py ARGS`` in this process (the function the tool calls),
    for runs whose command line is not what the test is about: no interpreter start."""
    from mae_plugin.lightning.cli import main

    with mock.patch.object(sys, 'argv', [TRAIN]):
        return main([str(a) for a in args])


def run_cli(args, timeout=600, check=True):
    """``python tools/train_lightning.py ARGS`` in its own process group (DDP's second process
    included), killed whole on timeout: (exit code, output)."""
    # a port of its own: Lightning's own free-port pick can meet a parallel test worker's
    env = environment(MASTER_PORT=free_port())
    done = run([sys.executable, TRAIN, *args], env=env, timeout=timeout, check=False, merge=True)
    if check:
        assert done.returncode == 0, done.stdout[-6000:]
    return done.returncode, done.stdout


def tiny_fit(root, demo_root):
    """(cli, path of last.ckpt) of the tiny run (10 steps) fitted in ``root``."""
    cli = tiny_cli(root, demo_root)
    cli.trainer.fit(cli.model, cli.datamodule)
    return cli, os.path.join(root, 'checkpoints', 'last.ckpt')
