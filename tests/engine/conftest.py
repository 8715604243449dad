from functools import partial

import pytest

from tests.conftest import built_once
from tests.engine.fsdp_run import build_two_node_runs


@pytest.fixture(scope='session')
def two_node_runs(tmp_path_factory, demo_root) -> dict[str, str]:
    """{'ddp': work dir, 'fsdp': work dir} of ``build_two_node_runs`` (tests/engine/fsdp_run.py),
    made once per test run for the DDP, FSDP2 and resume-on-another-layout tests. Read only:
    a test that resumes copies the folder first."""
    build = partial(build_two_node_runs, data_root=demo_root)
    folder = built_once(tmp_path_factory, 'engine-two-node-runs', build)
    return {name: str(folder / name) for name in ('ddp', 'fsdp')}
