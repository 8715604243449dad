"""Which guard checks a step (``engine/nonfinite.py``): every optimizer wrapper the plugin
registers takes the non-finite check over from the model and skips the step on the device;
under MMEngine's own wrapper the model stops training before the step."""

import pytest
import torch
from mmengine.optim import OptimWrapper
from torch import nn

from mae_plugin.engine.nonfinite import FiniteLossModel, FiniteOptimWrapper
from mae_plugin.engine.runtime.amp import CPUAmpOptimWrapper, MAEAmpOptimWrapper

DATA = dict(inputs=torch.ones(2, 4))


class TinyModel(FiniteLossModel):
    """One linear layer whose loss is NaN while ``bad`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 1)
        self.bad = False

    def forward(self, inputs, data_samples=None, mode='loss'):
        loss = self.fc(inputs).square().mean()
        return dict(loss=loss * float('nan') if self.bad else loss)


@pytest.mark.parametrize(
    'wrapper_type', [FiniteOptimWrapper, MAEAmpOptimWrapper, CPUAmpOptimWrapper]
)
def test_a_guarding_wrapper_takes_the_check_over_and_skips(wrapper_type):
    model = TinyModel()
    optim = wrapper_type(torch.optim.SGD(model.parameters(), lr=0.1), check_interval=1)
    assert model.host_loss_check
    model.train_step(DATA, optim)
    assert model.host_loss_check is False
    weight = model.fc.weight.detach().clone()
    model.bad = True
    model.train_step(DATA, optim)  # skipped on the device, not raised
    assert torch.equal(weight, model.fc.weight) and optim.skipped_steps == 1


def test_under_mmengine_own_wrapper_the_model_stops_before_the_step():
    model = TinyModel()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    model.train_step(DATA, optim)
    assert model.host_loss_check
    weight = model.fc.weight.detach().clone()
    model.bad = True
    with pytest.raises(FloatingPointError, match='non-finite loss .* before the optimizer step'):
        model.train_step(DATA, optim)
    assert torch.equal(weight, model.fc.weight)
