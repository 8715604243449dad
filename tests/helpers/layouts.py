"""Runs resumed on another batch layout (processes x batch x accumulation) under
``auto_scale_lr``: the tiny demo on the schedule of ``fsdp_runs`` (``ITERS``, ``SCHEDULE``: warm-up
over the first 2 iterations, then cosine to a floor of a ratio of the lr, which the iterations
after the checkpoint at 2 follow), run in this process, and the lr they logged."""

import uuid

import pytest

from mae_plugin.engine.runtime.launch import build_runner, build_train_config
from tests.helpers import scalars
from tests.helpers.fsdp_runs import ITERS, SCHEDULE
from tests.helpers.mmengine_runs import tiny_options
from tests.helpers.paths import DEMO


def options(demo_root, **extra):
    return tiny_options(demo_root, ITERS, 2, **{**SCHEDULE, **extra})


def lrs(work):
    """{iteration: (lr, base_lr)} of the newest run in ``work``."""
    rows = scalars.runs(work)[-1]
    return {r['step']: (r['lr'], r.get('base_lr')) for r in rows if 'lr' in r}


def in_process(tmp_path, demo_root, work, config=DEMO, resume=None, **extra):
    cfg = build_train_config(
        config, work_dir=str(tmp_path / work), cfg_options=options(demo_root, **extra)
    )
    cfg.experiment_name = f'test_{uuid.uuid4().hex[:8]}'
    if resume:
        cfg.resume, cfg.load_from = True, resume
    build_runner(cfg).train()
    return lrs(str(tmp_path / work))


def assert_same_lrs(resumed, fresh, steps):
    for step in steps:
        assert resumed[step] == pytest.approx(fresh[step], rel=1e-6), (step, resumed, fresh)
