"""A non-finite loss on the GPU is skipped and counted exactly as on the CPU
(``mae_plugin/training/nonfinite.py``, ``tests/training/test_nonfinite.py``): the same steps
change no weight, the same count is read, the same run of skips stops training with the same
message, under fp16 with its loss scaler and under bf16. A depth-2 MAE (the rule does not depend
on the size): the CPU runs fp32 through ``FiniteOptimWrapper``, as ``tools/train.py`` without
``--amp``."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from mmengine.logging import MessageHub

from tests.helpers.gpu.inputs import batch, build_model, optim_wrapper, vit_b_config
from tests.helpers.gpu.setup import setup_from_env

pytestmark = pytest.mark.gpu
STEPS = 14
# 0-based steps whose decoder output is NaN: one alone, two in a row, then a run that stops
BAD = {1, 3, 4, *range(6, STEPS)}
# 1-based iteration -> whether the weights changed, as the CPU rule says (check every step)
EXPECTED = {1: True, 2: False, 3: True, 4: False, 5: False, 6: True, 7: False, 8: False}
EXPECTED.update({9: False, 10: False})
STOP = (
    'non-finite loss or gradients at 5 optimizer steps in a row (iterations 7 to 11); '
    'max_consecutive_skips=5 was reached at iteration 11 (8 skipped in all)'
)


def run_steps(device: str, **wrapper: Any) -> dict[str, Any]:
    """``STEPS`` training steps of the depth-2 MAE on ``device`` with NaN at ``BAD``: whether
    each changed the weights, the skips read, the message that stopped training."""
    cfg = vit_b_config(setup_from_env({'MAE_GPU_CHECK_ARCH': 'tiny'}))
    model = build_model(cfg).to(device)
    data = batch(cfg, 4)
    optim = optim_wrapper(model, cfg, check_interval=1, **wrapper)
    nan = {'on': False}
    pred = model.mae.decoder.pred
    pred.register_forward_hook(lambda m, a, out: out * float('nan') if nan['on'] else out)
    hub = MessageHub.get_current_instance()
    changed, stop = {}, None
    for step in range(STEPS):
        hub.update_info('iter', step)
        nan['on'] = step in BAD
        before = pred.weight.detach().clone()
        try:
            model.train_step(dict(data), optim)
        except FloatingPointError as err:
            stop = str(err)
            break
        changed[step + 1] = not torch.equal(before, pred.weight)
    finite = all(bool(torch.isfinite(p).all()) for p in model.parameters())
    return dict(changed=changed, skipped=optim.skipped_steps, stop=stop, finite=finite)


@pytest.fixture(scope='module')
def cpu_run():
    return run_steps('cpu', type='mae_plugin.FiniteOptimWrapper')


@pytest.mark.parametrize('dtype', ['float16', 'bfloat16'])
def test_nan_steps_are_skipped_and_counted_as_on_the_cpu(cpu_run, check_setup, dtype, record):
    if dtype == 'bfloat16' and check_setup.device == 'cuda':
        if not torch.cuda.is_bf16_supported(including_emulation=False):
            pytest.skip(f'{torch.cuda.get_device_name()} computes no bf16')
    run = run_steps(
        check_setup.device, type='mae_plugin.MAEAmpOptimWrapper', dtype=dtype, loss_scale='dynamic'
    )
    record(device=check_setup.device, dtype=dtype, skipped=run['skipped'], cpu=cpu_run['skipped'])
    assert cpu_run['changed'] == EXPECTED and STOP in cpu_run['stop']
    assert run['changed'] == cpu_run['changed']
    assert run['skipped'] == cpu_run['skipped'] == 8
    assert run['stop'] == cpu_run['stop']
    assert run['finite'] and cpu_run['finite']
