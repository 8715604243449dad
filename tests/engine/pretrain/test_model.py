"""The pretraining model (``mae_plugin.engine.pretrain.model``): its modes and the mask from
the data samples, a training forward without graph break, and its own check of the loss, made
only where no guarding optimizer wrapper skips non-finite steps."""

import pytest
import torch

import mae_plugin  # noqa: F401
from mae_plugin.engine.nonfinite import FiniteOptimWrapper
from mae_plugin.models.masking import batch_random_mask
from tests.helpers.models import tiny_pretrain_model as build


def test_training_forward_with_the_pipeline_mask_has_no_graph_break():
    from mae_plugin.data.transforms import MAEMaskGenerator

    model = build()
    masks = [MAEMaskGenerator(32, 8, 0.75)({})['mask'] for _ in range(2)]
    data = dict(inputs=torch.randn(2, 3, 32, 32), data_samples=dict(mask=torch.stack(masks)))
    report = torch._dynamo.explain(lambda d: model(**d, mode='loss')['loss'])(data)
    assert report.graph_break_count == 0, report.break_reasons
    assert report.graph_count == 1


def test_modes_and_mask_from_data_samples():
    model = build()
    x = torch.randn(2, 3, 32, 32)
    mask = batch_random_mask(2, 16, 0.75)
    out = model(x, dict(mask=mask), mode='tensor')
    assert torch.equal(out.mask, mask)
    assert set(model(x, dict(mask=mask), mode='loss')) == {'loss'}
    assert int((~model(x, None, mode='predict').mask).sum(1)[0]) == 4  # self-masked at 0.75
    tokens = model(x, None, mode='features')  # the unmasked encoder: cls + 16 patch tokens
    torch.testing.assert_close(tokens, model.mae.encoder(x), rtol=0, atol=0)
    assert tokens.shape == (2, 17, model.mae.encoder.embed_dim)
    half = batch_random_mask(2, 16, 0.5)  # another ratio, said explicitly (the pictures' tool)
    assert torch.equal(model(x, dict(mask=half, num_visible=8), mode='tensor').mask, half)
    with pytest.raises(ValueError, match='keep num_visible'):
        model(x, dict(mask=half), mode='tensor')
    with pytest.raises(ValueError, match='mode'):
        model(x, None, mode='pixels')
    assert all(k.startswith(('mae.', 'data_preprocessor.')) for k in model.state_dict())


def test_the_model_checks_the_loss_only_without_a_guarding_wrapper():
    from mmengine.optim import OptimWrapper

    data = dict(inputs=torch.zeros(2, 3, 32, 32, dtype=torch.uint8), data_samples=None)
    for wrapper_type, raises in ((OptimWrapper, True), (FiniteOptimWrapper, False)):
        model = build()
        model.mae.decoder.pred.register_forward_hook(lambda m, a, out: out * float('nan'))
        optim = wrapper_type(torch.optim.AdamW(model.parameters(), fused=True))
        weights = model.mae.decoder.pred.weight.detach().clone()
        if raises:
            with pytest.raises(FloatingPointError, match='non-finite loss'):
                model.train_step(data, optim)
        else:
            model.train_step(data, optim)
        assert torch.equal(weights, model.mae.decoder.pred.weight)
