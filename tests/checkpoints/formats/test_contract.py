"""Every format module implements the one contract (``formats/contract.py``), named alike."""

import os

import pytest
import torch

from mae_plugin.checkpoints import FORMATS, WRITABLE, from_core
from mae_plugin.checkpoints.formats.contract import CheckpointFormat
from tests.helpers.checkpoints import CHECKPOINTS


def test_each_format_is_one_module_under_formats_named_as_it_is_called():
    files = sorted(
        name[: -len('.py')]
        for name in os.listdir(os.path.join(CHECKPOINTS, 'formats'))
        if name.endswith('.py') and name not in ('__init__.py', 'contract.py')
    )
    assert sorted(FORMATS) == files
    for name, module in FORMATS.items():
        assert module.__name__ == f'mae_plugin.checkpoints.formats.{name}'
        assert module.NAME == name
    # the --to choices of tools/convert_checkpoint.py, in their order
    assert WRITABLE == ('plugin', 'lightly', 'official', 'hf', 'timm')


@pytest.mark.parametrize('name', sorted(FORMATS))
def test_each_format_implements_the_contract(name):
    module = FORMATS[name]
    assert isinstance(module, CheckpointFormat)
    assert isinstance(module.WRITABLE, bool) and (name in WRITABLE) == module.WRITABLE
    assert module.detect({}) is False
    assert module.detect({'state_dict': {}, 'model': {}}) is False


@pytest.mark.parametrize('name', sorted(set(FORMATS) - set(WRITABLE)))
def test_an_import_only_format_refuses_to_write_naming_itself(name):
    state = {'encoder.vit.cls_token': torch.zeros(1, 1, 4)}
    with pytest.raises(ValueError, match=f"cannot write the '{name}' format"):
        FORMATS[name].from_core(state)
    with pytest.raises(ValueError, match=rf"cannot write the '{name}' format; writable: \("):
        from_core(state, name)
