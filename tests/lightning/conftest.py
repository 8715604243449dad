from functools import partial
from pathlib import Path

import pytest

from tests.conftest import built_once
from tests.lightning.helpers import build_two_process_fits


@pytest.fixture(scope='session')
def two_process_fits(tmp_path_factory, demo_root) -> Path:
    """The folder of ``build_two_process_fits`` (tests/lightning/helpers.py): the tiny run on
    2 CPU processes under DDP and under mae_fsdp2, made once per test run for the FSDP2 and
    the resume-on-another-layout tests. Read only: a resumed run writes in a folder of its
    own."""
    build = partial(build_two_process_fits, data_root=demo_root)
    return built_once(tmp_path_factory, 'lightning-two-process-fits', build)
