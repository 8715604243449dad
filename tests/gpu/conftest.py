"""The GPU checks of ``make gpu-check`` (issue 23): where they run, how big, where numbers go.

Every test of this package is marked ``gpu`` and, where CUDA is absent, skipped with the reason
``needs CUDA (make gpu-check on a GPU machine)``: CI stays green on CPU machines. Three
environment variables, read once (a value outside the ones below is an error naming it):

- ``MAE_GPU_CHECK_DEVICE``: ``cuda`` (default), or ``cpu`` for the dry run of the same tests on a
  CPU machine, with CPU autocast (bf16, and fp16 with the CPU GradScaler) in place of CUDA's,
  gloo in place of NCCL and Lightning's CPU accelerator in place of the GPU.
- ``MAE_GPU_CHECK_ARCH``: ``base`` (default: ViT-B/16 at 224 px with the 8 x 512 decoder,
  ``configs/mae_vit-b_800e.py``'s model, batch 8) or ``tiny`` (depth 2, 64 px, batch 4: the
  dry run on 2 cores in about a minute).
- ``MAE_GPU_CHECK_RECORD``: a JSON-lines file each test appends its measured numbers to
  (``tools/gpu_check.py`` copies them into its result file); unset, they are only printed.

The dry run of the logic on a CPU machine::

    MAE_GPU_CHECK_DEVICE=cpu MAE_GPU_CHECK_ARCH=tiny python -m pytest -m gpu tests/gpu
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest
import torch

from tests.helpers.gpu.setup import CheckSetup, setup_from_env

SKIP_REASON = 'needs CUDA (make gpu-check on a GPU machine)'


@pytest.fixture(scope='session')
def check_setup() -> CheckSetup:
    return setup_from_env()


@pytest.fixture(scope='session', autouse=True)
def _needs_the_device(check_setup: CheckSetup) -> None:
    # session-scoped: skips before any module-scoped fixture builds a model
    if check_setup.device == 'cuda' and not torch.cuda.is_available():
        pytest.skip(SKIP_REASON)


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``record(**numbers)``: print the test's measured numbers and append them, with the test's
    id, to ``MAE_GPU_CHECK_RECORD`` when set."""

    def write(**numbers: Any) -> None:
        row = {'test': request.node.nodeid, **numbers}
        print(json.dumps(row))
        path = os.environ.get('MAE_GPU_CHECK_RECORD')
        if path:
            with open(path, 'a', encoding='utf-8') as f:
                f.write(json.dumps(row) + '\n')

    return write
