"""The ``hf`` format (Hugging Face ViTMAE) against transformers itself.

The same weights and the same mask give the same loss, predictions and latent; transformers'
own files read back exactly. What does not fit (config against weights, keys) is an error
naming the file, the key or field and the values; nothing is guessed.
"""

import json
import os

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import ViTMAEForPreTraining, ViTMAEModel

from mae_plugin.checkpoints import (
    UnknownKeyError,
    load_checkpoint_file,
    load_mae_weights,
    read_checkpoint,
    to_core,
)
from mae_plugin.checkpoints.convert import convert_checkpoint
from tests.helpers.checkpoints import save_plugin_checkpoint
from tests.helpers.hf import (
    batch,
    hf_noise,
    hf_saved_folder,
    random_mae,
    tiny_hf_folder,
    to_hf_folder,
)
from tests.helpers.models import tiny_timm_vit

TOL = 1e-5


@pytest.fixture
def folder(tmp_path):
    return tiny_hf_folder(tmp_path)


def assert_loads_exactly(cls, folder):
    model, info = cls.from_pretrained(folder, output_loading_info=True)
    assert not info['missing_keys'] and not info['unexpected_keys'], info
    assert not info['mismatched_keys'] and not info['error_msgs'], info
    return model.eval()


@pytest.mark.parametrize('norm_pix', [True, False])
def test_transformers_gives_the_same_loss_predictions_and_latent(tmp_path, norm_pix):
    mae = random_mae(norm_pix)
    folder = to_hf_folder(tmp_path, mae)
    config = json.load(open(os.path.join(folder, 'config.json')))
    assert config['norm_pix_loss'] is norm_pix and config['layer_norm_eps'] == 1e-6
    hf = assert_loads_exactly(ViTMAEForPreTraining, folder)
    images, mask = batch()
    with torch.no_grad():
        ours = mae(images, mask)
        latent = mae.encoder(images, torch.nonzero(~mask)[:, 1].view(len(mask), -1))
        theirs = hf(pixel_values=images, noise=hf_noise(mask))
    assert torch.equal(theirs.mask.bool(), mask)
    diffs = {
        'loss': (ours.loss - theirs.loss).abs().item(),
        'pred': (ours.pred - theirs.logits).abs().max().item(),
    }
    with torch.no_grad():
        diffs['latent'] = (
            (latent - hf.vit(pixel_values=images, noise=hf_noise(mask)).last_hidden_state)
            .abs()
            .max()
            .item()
        )
    print(f'max abs diff vs transformers (norm_pix={norm_pix}): {diffs}')
    assert max(diffs.values()) < TOL, diffs
    assert ours.loss.item() > 0.1  # not a trivially zero loss


def test_vitmae_model_loads_the_folder_and_the_encoder_only_folder(tmp_path):
    mae = random_mae()
    model, info = ViTMAEModel.from_pretrained(to_hf_folder(tmp_path, mae), output_loading_info=True)
    assert not info['missing_keys'] and not info['mismatched_keys'], info
    unexpected = info['unexpected_keys']
    assert unexpected and all(k.startswith('decoder.') for k in unexpected), unexpected
    # encoder only (a timm file): ViTMAEModel keys, no prefix; mask ratio 0 keeps every patch
    timm_file = tmp_path / 'enc.pth'
    convert_checkpoint(save_plugin_checkpoint(mae, tmp_path / 'p.pth'), timm_file, 'timm')
    conv = convert_checkpoint(timm_file, tmp_path / 'enc', 'hf', mask_ratio=0.0, num_heads=3)
    assert '(decoder)' in conv.dropped
    assert json.load(open(tmp_path / 'enc' / 'config.json'))['architectures'] == ['ViTMAEModel']
    encoder = assert_loads_exactly(ViTMAEModel, str(tmp_path / 'enc'))
    images, _ = batch()
    with torch.no_grad():
        theirs = encoder(pixel_values=images, noise=torch.arange(16.0).expand(3, -1))
        diff = (mae.encoder(images) - theirs.last_hidden_state).abs().max().item()
    assert diff < TOL, diff


def test_a_folder_saved_by_transformers_loads_into_the_plugin_with_the_same_numbers(tmp_path):
    hf, folder = hf_saved_folder(tmp_path)
    mae = random_mae(seed=5)
    report = load_mae_weights(mae, folder)
    assert report.format == 'hf' and not report.left_new and not report.dropped
    images, mask = batch(seed=2)
    with torch.no_grad():
        ours, theirs = mae(images, mask), hf(pixel_values=images, noise=hf_noise(mask))
    assert abs(ours.loss - theirs.loss) < TOL
    assert (ours.pred - theirs.logits).abs().max() < TOL
    # transformers' in-memory names (model.state_dict()) read to the same tensors
    from_folder = to_core(load_checkpoint_file(folder)).state
    torch.save(hf.state_dict(), tmp_path / 'state.bin')
    from_state = to_core(load_checkpoint_file(tmp_path / 'state.bin'))
    assert from_state.format == 'hf' and from_state.state.keys() == from_folder.keys()
    assert all(torch.equal(from_state.state[k], v) for k, v in from_folder.items())


def test_hf_to_timm_loads_strict_and_gives_transformers_features(tmp_path):
    hf, folder = hf_saved_folder(tmp_path, seed=3)
    conv = convert_checkpoint(folder, tmp_path / 'timm.pth', 'timm')
    assert conv.format == 'hf'
    vit = tiny_timm_vit(32).eval()
    vit.load_state_dict(load_checkpoint_file(tmp_path / 'timm.pth'), strict=True)
    hf.config.mask_ratio = 0.0
    images, _ = batch(seed=4)
    with torch.no_grad():
        theirs = hf.vit(pixel_values=images, noise=torch.arange(16.0).expand(3, -1))
        diff = (vit.forward_features(images) - theirs.last_hidden_state).abs().max().item()
    assert diff < TOL, diff


@pytest.mark.parametrize('middle', ['hf', 'hf.safetensors', 'hf.pth'])
def test_plugin_to_hf_to_plugin_is_bit_exact(tmp_path, middle):
    mae = random_mae()
    src = save_plugin_checkpoint(mae, tmp_path / 'src.pth')
    options = {'norm_pix': True, 'num_heads': 3, 'decoder_num_heads': 2} if middle == 'hf' else {}
    convert_checkpoint(src, tmp_path / middle, 'hf', **options)
    convert_checkpoint(tmp_path / middle, tmp_path / 'back.pth', 'plugin')
    back = load_checkpoint_file(tmp_path / 'back.pth')['state_dict']
    original = load_checkpoint_file(src)['state_dict']
    assert back.keys() == original.keys()
    for key, value in original.items():
        assert torch.equal(back[key], value), key


def test_hf_to_hf_keeps_what_the_weights_do_not_hold(tmp_path):
    _, folder = hf_saved_folder(tmp_path)
    conv = convert_checkpoint(folder, tmp_path / 'again', 'hf')
    written = json.load(open(tmp_path / 'again' / 'config.json'))
    assert not conv.notes
    source = json.load(open(os.path.join(folder, 'config.json')))
    for field in (
        'norm_pix_loss',
        'mask_ratio',
        'num_attention_heads',
        'decoder_num_attention_heads',
        'hidden_size',
        'decoder_intermediate_size',
    ):
        assert written[field] == source[field], field


def test_the_load_report_says_when_the_file_predicts_in_another_pixel_space(tmp_path):
    folder = to_hf_folder(tmp_path, random_mae(norm_pix=False))
    summary = load_mae_weights(random_mae(norm_pix=True), folder).summary()
    assert 'config.json says norm_pix_loss=False' in summary and 'norm_pix=False)' in summary
    assert 'norm_pix_loss' not in load_mae_weights(random_mae(norm_pix=False), folder).summary()


def edit_config(folder, **fields):
    config = json.loads((folder / 'config.json').read_text())
    for key, value in fields.items():
        if value is None:
            config.pop(key)
        else:
            config[key] = value
    (folder / 'config.json').write_text(json.dumps(config))


@pytest.mark.parametrize(
    'field, value, weights',
    [
        ('hidden_size', 64, '48'),
        ('num_hidden_layers', 3, '2'),
        ('intermediate_size', 96, '192'),
        ('decoder_num_hidden_layers', 2, '1'),
        ('decoder_hidden_size', None, '32'),  # absent: transformers would build 512
        ('num_channels', 1, '3'),
    ],
)
def test_a_config_that_disagrees_with_the_weights_names_file_field_and_values(
    folder, field, value, weights
):
    edit_config(folder, **{field: value})
    shown = 512 if value is None else value
    with pytest.raises(
        ValueError, match=rf'config.json: {field} = {shown}.* have {weights}'
    ) as err:
        load_mae_weights(random_mae(), folder)
    assert str(folder / 'config.json') in str(err.value)
    assert str(folder / 'model.safetensors') in str(err.value)


def test_an_image_size_that_does_not_fit_the_position_table_is_an_error(folder):
    edit_config(folder, image_size=64)
    with pytest.raises(
        ValueError,
        match=r'config.json: image_size = 64 .* 8x8 grid, but the '
        r'position table .* has 16 patch entries',
    ):
        read_checkpoint(folder)


def test_heads_that_do_not_divide_the_width_are_an_error(folder):
    edit_config(folder, num_attention_heads=5)
    with pytest.raises(ValueError, match='num_attention_heads = 5 does not divide hidden_size'):
        read_checkpoint(folder)


def test_a_layer_without_its_value_weights_is_an_error_naming_the_keys(folder):
    weights = load_file(folder / 'model.safetensors')
    del weights['vit.encoder.layer.1.attention.attention.value.weight']
    save_file(weights, folder / 'model.safetensors', metadata={'format': 'pt'})
    with pytest.raises(
        UnknownKeyError,
        match=r'model.safetensors: .*layer.1.attention.attention.'
        r"query.weight.*without the \['attention"
        r".attention.value'\] part",
    ):
        read_checkpoint(folder)


def test_a_key_with_no_place_is_an_error_naming_it(folder):
    weights = load_file(folder / 'model.safetensors')
    weights['vit.pooler.dense.weight'] = torch.zeros(2, 2)
    save_file(weights, folder / 'model.safetensors', metadata={'format': 'pt'})
    with pytest.raises(UnknownKeyError, match="no place for key 'vit.pooler.dense.weight'"):
        read_checkpoint(folder)
