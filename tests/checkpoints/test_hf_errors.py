"""What does not fit a Hugging Face folder is an error naming the file, the key or field and
the values; nothing is guessed."""

import json
import os

import pytest
import torch
from safetensors.torch import load_file, save_file

from mae_plugin.apis import init_model
from mae_plugin.checkpoints import UnknownKeyError, load_checkpoint_file, load_mae_weights
from mae_plugin.checkpoints.convert import convert_checkpoint
from tests.checkpoints.hf_helpers import tiny_mae
from tests.conftest import ROOT, save_plugin_checkpoint
from tools.convert_checkpoint import main as convert_main

DEMO_CFG = os.path.join(ROOT, 'configs', 'mae_vit-t_demo.py')


@pytest.fixture
def folder(tmp_path):
    src = save_plugin_checkpoint(tiny_mae(), tmp_path / 'src.pth')
    convert_checkpoint(src, tmp_path / 'hf', 'hf', norm_pix=True, num_heads=3, decoder_num_heads=2)
    return tmp_path / 'hf'


def edit_config(folder, **fields):
    config = json.loads((folder / 'config.json').read_text())
    for key, value in fields.items():
        if value is None:
            config.pop(key)
        else:
            config[key] = value
    (folder / 'config.json').write_text(json.dumps(config))


def test_a_folder_without_config_json_is_an_error_naming_it(folder):
    os.remove(folder / 'config.json')
    with pytest.raises(FileNotFoundError, match=f"'{folder}' is a folder without config.json"):
        load_checkpoint_file(folder)


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
        load_mae_weights(tiny_mae(), folder)
    assert str(folder / 'config.json') in str(err.value)
    assert str(folder / 'model.safetensors') in str(err.value)


def test_an_image_size_that_does_not_fit_the_position_table_is_an_error(folder):
    edit_config(folder, image_size=64)
    with pytest.raises(
        ValueError,
        match=r'config.json: image_size = 64 .* 8x8 grid, but the '
        r'position table .* has 16 patch entries',
    ):
        load_checkpoint_file(folder)


def test_heads_that_do_not_divide_the_width_are_an_error(folder):
    edit_config(folder, num_attention_heads=5)
    with pytest.raises(ValueError, match='num_attention_heads = 5 does not divide hidden_size'):
        load_checkpoint_file(folder)


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
        load_checkpoint_file(folder)


def test_a_key_with_no_place_is_an_error_naming_it(folder):
    weights = load_file(folder / 'model.safetensors')
    weights['vit.pooler.dense.weight'] = torch.zeros(2, 2)
    save_file(weights, folder / 'model.safetensors', metadata={'format': 'pt'})
    with pytest.raises(UnknownKeyError, match="no place for key 'vit.pooler.dense.weight'"):
        load_checkpoint_file(folder)


def test_writing_a_decoder_needs_to_be_told_its_pixel_space(tmp_path):
    src = save_plugin_checkpoint(tiny_mae(), tmp_path / 'src.pth')
    with pytest.raises(ValueError, match='norm_pix_loss: say whether'):
        convert_checkpoint(src, tmp_path / 'hf', 'hf', num_heads=3, decoder_num_heads=2)
    with pytest.raises(ValueError, match=r'width of 48 is none .* \(--num-heads\)'):
        convert_checkpoint(src, tmp_path / 'hf', 'hf', norm_pix=True)
    with pytest.raises(ValueError, match=r"\['norm_pix'\] only apply to --to hf"):
        convert_checkpoint(src, tmp_path / 'timm.pth', 'timm', norm_pix=True)
    assert sorted(os.listdir(tmp_path)) == ['src.pth']  # nothing written


def test_paper_head_counts_are_taken_by_width_and_said(tmp_path):
    torch.manual_seed(0)
    mae = init_model(DEMO_CFG).mae  # 192 wide (ViT-Ti, 3 heads), decoder 128 wide
    src = save_plugin_checkpoint(mae, tmp_path / 'demo.pth')
    conv = convert_checkpoint(src, tmp_path / 'hf', 'hf', norm_pix=True, decoder_num_heads=4)
    config = json.loads((tmp_path / 'hf' / 'config.json').read_text())
    assert config['num_attention_heads'] == 3 and config['decoder_num_attention_heads'] == 4
    assert "note: num_attention_heads = 3: the paper's head count for width 192" in conv.report()


def test_cli_converts_a_folder_and_init_model_reads_it(tmp_path, folder, capsys):
    out = tmp_path / 'cli_hf'
    convert_main([str(folder), str(out), '--to', 'hf'])  # every field from IN's config.json
    assert 'format: hf' in capsys.readouterr().out
    assert (out / 'config.json').read_text() == (folder / 'config.json').read_text()
    assert (out / 'model.safetensors').read_bytes() == (folder / 'model.safetensors').read_bytes()
    torch.manual_seed(0)
    model = init_model(
        DEMO_CFG,
        str(out),
        cfg_options={
            'model.encoder.img_size': 32,
            'model.encoder.embed_dim': 48,
            'model.encoder.depth': 2,
            'model.decoder.embed_dim': 32,
            'model.decoder.depth': 1,
            'model.decoder.num_heads': 2,
        },
    )
    assert model.load_report.format == 'hf' and not model.load_report.left_new
    expected = tiny_mae().state_dict()
    assert all(torch.equal(model.mae.state_dict()[k], v) for k, v in expected.items())


def test_output_inside_the_input_folder_is_refused(tmp_path, folder):
    before = (folder / 'model.safetensors').read_bytes()
    for dst in (folder / 'model.safetensors', folder / 'sub'):
        with pytest.raises(ValueError, match='lie one inside the other'):
            convert_main([str(folder), str(dst), '--to', 'hf'])
    with pytest.raises(ValueError, match='lie one inside the other'):
        convert_main([str(folder / 'model.safetensors'), str(folder), '--to', 'hf'])
    assert (folder / 'model.safetensors').read_bytes() == before
    assert sorted(os.listdir(folder)) == ['config.json', 'model.safetensors']
