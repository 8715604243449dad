"""What the suite changes in a documented command to run it in seconds: sizes, iterations and
work places only, never the tool, the config or the data a snippet names. SUBSTITUTIONS is the
table docs/doc-tests.md prints (a test holds the page to it)."""

import os
import re
from dataclasses import dataclass

from tests.docs.warm import PRELOAD
from tests.helpers.ports import free_port

ITERS = 2  # training runs: optimizer steps
BATCH = 4  # training runs: the largest batch
MAX_PROCESSES = 2  # torchrun / dist_train.sh processes on a CPU machine


@dataclass(frozen=True)
class Substitution:
    command: str  # what a page writes
    change: str  # what the suite runs instead
    why: str


SUBSTITUTIONS = (
    Substitution(
        'python tools/train.py CONFIG ...',
        f'`--cfg-options train_cfg.max_iters={ITERS}` (`max_epochs=1` in an epoch-based loop), '
        f'`train_dataloader.batch_size={BATCH}` where larger, `train_cfg.val_interval` and every '
        f'`default_hooks.*.interval` above {ITERS} set to {ITERS} (logger: 1), '
        '`num_workers=0` (`persistent_workers=False`) in every loader',
        f'a {ITERS}-step run leaves what a full run leaves (checkpoint, log rows, pictures, kNN, '
        'validation) in seconds; keys the config lacks are not added',
    ),
    Substitution(
        'python tools/train.py CONFIG ... (after the run)',
        f'its last checkpoint `iter_{ITERS}.pth` (`epoch_1.pth`) also linked as `iter_N.pth` '
        "(`epoch_N.pth`), N the iterations (epochs) of the full run, in the run's work dir",
        'a page names the checkpoint the full run leaves (e.g. for tools/test.py)',
    ),
    Substitution(
        'python tools/test.py CONFIG CHECKPOINT ...',
        '`--cfg-options test_dataloader.num_workers=0` (`persistent_workers=False`)',
        'no worker processes to start on 2 cores',
    ),
    Substitution(
        'python tools/train_lightning.py fit --config YAML ...',
        f'`--trainer.max_steps={ITERS} --model.warmup_epochs=0 --trainer.log_every_n_steps=1 '
        f'--data.batch_size={BATCH} --data.num_workers=0`',
        f'{ITERS} optimizer steps, logged (last.ckpt and the pictures are still written); no '
        'warm-up: the module refuses a warm-up longer than the run',
    ),
    Substitution(
        'torchrun --nproc_per_node=N SCRIPT ...',
        f'run when N <= {MAX_PROCESSES} (CPU processes, gloo), with `--master_port=FREE` where the '
        "line names no port and the script's own substitutions; N > 2 fails: mark the block",
        'two processes test the distributed path on a CPU machine; a free port lets runs overlap',
    ),
    Substitution(
        'bash tools/dist_train.sh CONFIG N ...',
        f"as torchrun (N <= {MAX_PROCESSES}), `PORT=FREE` in its environment, tools/train.py's "
        'substitutions appended',
        'the script passes its arguments to torchrun and tools/train.py',
    ),
    Substitution(
        'make TARGET',
        'expanded by `make -n -o .venv/.installed -o .venv/.installed-transfer -o '
        '.venv/.installed-lint TARGET`; its tool lines run with the substitutions above, '
        'a line guarded by `test -f PATH` (or `-d`) runs when PATH is missing',
        'the install stamps are the venv the suite already runs in',
    ),
    Substitution(
        'every block',
        'runs in a fresh folder shaped like the repository after `make demo`: tools/, configs/, '
        'Makefile and .venv linked; data/ and work_dirs/ = what `make demo` left, run once per '
        'session with the substitutions above (its 2-step checkpoint also as iter_500.pth)',
        'a page may assume `make demo` ran; 500 iterations would take minutes',
    ),
    Substitution(
        'python SCRIPT.py ...',
        '(every python tool line, and python blocks saved as scripts) forked from a server '
        f'that has imported {", ".join(PRELOAD)} once (tests/docs/warm.py): '
        'the fork runs the script as `__main__` with the command line, folder and environment '
        'as written and imports mae_plugin itself; with an `export` in the block it starts cold',
        'saves ~4 s of imports per command; registries and the plugin are as fresh as in a new '
        'interpreter, so a missing import or registration still fails',
    ),
    Substitution(
        'environment',
        "`PYTHONPATH` = the repository, `PATH` starts with the venv's bin, `MPLBACKEND=Agg`, "
        'no inherited `RANK`, `LOCAL_RANK`, `WORLD_SIZE`, `MASTER_ADDR`, `MASTER_PORT`',
        "a user's shell after `source .venv/bin/activate`",
    ),
)

# `make` targets checked to exist in the Makefile, not run, and why
MAKE_NOT_RUN = {
    'install': 'installs packages; the suite runs in the installed venv',
    'install-transfer': 'builds mmcv from source, installs mmdet and mmseg; the suite runs in '
    'that venv',
    'test': 'the suite itself (CI runs it)',
    'test-fast': 'a part of the suite itself',
    'lint': 'CI runs it',
    'format': 'rewrites the files of the repository',
    'docs': 'CI runs it (the site build)',
    'clean': 'deletes the venv and the demo data',
    'benchmark': 'minutes of measurement',
    'reproduce': 'hours of training',
    'gpu-check': 'needs a GPU',
}
STAMPS = ('.venv/.installed', '.venv/.installed-transfer', '.venv/.installed-lint')


def mmengine_options(config: str, cwd: str, tool: str) -> list[str]:
    """The ``--cfg-options`` pairs of the table for ``tool`` (train.py or test.py) run on
    ``config``; only keys the config has."""
    from mmengine.config import Config

    cfg = Config.fromfile(os.path.join(cwd, config))
    options = {}
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    if tool == 'train.py':
        loop = cfg.get('train_cfg') or {}
        if 'max_iters' in loop:
            options['train_cfg.max_iters'] = ITERS
        elif 'max_epochs' in loop:
            options['train_cfg.max_epochs'] = 1
        if loop.get('val_interval', 0) > ITERS:
            options['train_cfg.val_interval'] = ITERS
        if (cfg.get('train_dataloader') or {}).get('batch_size', 0) > BATCH:
            options['train_dataloader.batch_size'] = BATCH
        for name, hook in (cfg.get('default_hooks') or {}).items():
            interval = (hook or {}).get('interval', 0)
            if name == 'logger' and interval > 1:
                options['default_hooks.logger.interval'] = 1
            elif interval > ITERS:
                options[f'default_hooks.{name}.interval'] = ITERS
    else:
        loaders = ('test_dataloader',)
    for name in loaders:
        loader = cfg.get(name) or {}
        if loader.get('num_workers', 0) > 0:
            options[f'{name}.num_workers'] = 0
            if 'persistent_workers' in loader:
                options[f'{name}.persistent_workers'] = False
    return ['--cfg-options', *(f'{k}={v}' for k, v in options.items())] if options else []


def script_arguments(script: str, args: list[str], cwd: str) -> list[str]:
    """``args`` of a tool script with the table's additions appended (later values win)."""
    name = os.path.basename(script)
    if name in ('train.py', 'test.py') and args and not args[0].startswith('-'):
        if '--help' in args or '-h' in args:
            return args
        return args + mmengine_options(args[0], cwd, name)
    if name == 'train_lightning.py' and args[:1] == ['fit'] and '--help' not in args:
        return args + [
            f'--trainer.max_steps={ITERS}',
            '--model.warmup_epochs=0',
            '--trainer.log_every_n_steps=1',
            f'--data.batch_size={BATCH}',
            '--data.num_workers=0',
        ]
    return args


def processes(argv: list[str], where: str) -> None:
    """Refuse a launch of more processes than a CPU machine runs (the page must mark it)."""
    for i, arg in enumerate(argv):
        match = re.match(r'^--nproc[_-]per[_-]node(?:=(.+))?$', arg)
        if match:
            value = match.group(1) or (argv[i + 1] if i + 1 < len(argv) else '')
            if not value.isdigit() or int(value) > MAX_PROCESSES:
                raise AssertionError(
                    f'{where}: {value!r} processes, more than {MAX_PROCESSES}: mark the block '
                    '`# needs: <what>` (e.g. `# needs: 8 GPUs`)'
                )


def torchrun(argv: list[str], cwd: str, where: str) -> list[str]:
    """A torchrun line with the table's changes (argv[0] is 'torchrun')."""
    processes(argv, where)
    script = next((i for i, a in enumerate(argv) if a.endswith('.py')), None)
    if script is None:
        raise AssertionError(f'{where}: torchrun runs no .py script')
    launcher = argv[1:script]
    if not any(a.startswith(('--master_port', '--master-port', '--rdzv')) for a in launcher):
        launcher.append(f'--master_port={free_port()}')
    tail = script_arguments(argv[script], argv[script + 1 :], cwd)
    return [argv[0], *launcher, argv[script], *tail]


def dist_train(argv: list[str], cwd: str, where: str) -> tuple[list[str], dict]:
    """``bash tools/dist_train.sh CONFIG N ...`` with the table's changes, and its environment."""
    if len(argv) < 4 or not argv[3].isdigit():
        raise AssertionError(f'{where}: usage is bash tools/dist_train.sh CONFIG N [args]')
    processes([f'--nproc_per_node={argv[3]}'], where)
    extra = mmengine_options(argv[2], cwd, 'train.py')
    return argv + extra, {'PORT': str(free_port())}


def link_full_run_checkpoint(script: str, args: list[str], cwd: str) -> None:
    """After a shrunk ``tools/train.py`` run (``args`` as the page wrote them): its last
    checkpoint also under the name of the full run's last one (iter_N.pth, epoch_N.pth)."""
    if os.path.basename(script) != 'train.py' or not args or args[0].startswith('-'):
        return
    from mmengine.config import Config

    cfg = Config.fromfile(os.path.join(cwd, args[0]))
    loop = dict(cfg.get('train_cfg') or {})
    for arg in args:  # the page's own --cfg-options train_cfg.max_iters=N
        match = re.match(r'^train_cfg\.(max_iters|max_epochs)=(\d+)$', arg)
        if match:
            loop[match.group(1)] = int(match.group(2))
    stem = os.path.splitext(os.path.basename(args[0]))[0]
    work_dir = cfg.get('work_dir') or os.path.join('work_dirs', stem)
    if '--work-dir' in args:
        work_dir = args[args.index('--work-dir') + 1]
    for unit, full, short in (
        ('iter', loop.get('max_iters'), ITERS),
        ('epoch', loop.get('max_epochs'), 1),
    ):
        src = os.path.join(cwd, work_dir, f'{unit}_{short}.pth')
        dst = os.path.join(cwd, work_dir, f'{unit}_{full}.pth')
        if full and full > short and os.path.isfile(src) and not os.path.exists(dst):
            os.symlink(os.path.basename(src), dst)
