"""Transfer tests through mmdet: skipped, naming the install step, where the stack is absent
(`make test-fast` before `make install-transfer`); `make test` installs and runs them."""

import pytest

pytest.importorskip(
    'mmdet', reason='mmdet (with mmcv 2.1.0) is not installed: run make install-transfer'
)
