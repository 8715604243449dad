import pytest
import torch

from mae_plugin.apis import extract_features, init_model, reconstruct
from mae_plugin.checkpoints import (
    UnsafeCheckpointError,
    from_core,
    load_checkpoint_file,
    load_mae_weights,
    to_core,
)
from mae_plugin.checkpoints.convert import convert_checkpoint
from tests.helpers.checkpoints import DEMO_CFG, modules_entered, save_plugin_checkpoint
from tests.helpers.models import tiny_mae


def core_to_official(state):
    return from_core(state, 'official')['model']


def _demo_model_weights(seed=0):
    torch.manual_seed(seed)
    return init_model(DEMO_CFG).mae.state_dict()


def test_official_full_checkpoint_loads_exactly(tmp_path):
    core = _demo_model_weights(seed=1)
    official = core_to_official(core)
    assert 'decoder_embed.weight' in official and 'mask_token' in official
    assert 'blocks.0.attn.qkv.weight' in official and 'pos_embed' in official
    path = tmp_path / 'mae_visualize_vit_tiny.pth'
    torch.save({'model': official}, path)
    model = init_model(DEMO_CFG, str(path))
    assert model.load_report.format == 'official' and not model.load_report.left_new
    for key, value in model.mae.state_dict().items():
        assert torch.equal(value, core[key]), key
    assert to_core({'model': official}).state.keys() == core.keys()


def test_official_encoder_only_checkpoint_keeps_fresh_decoder(tmp_path):
    core = _demo_model_weights(seed=2)
    encoder_only = {
        k: v
        for k, v in core_to_official(core).items()
        if not k.startswith('decoder_') and k != 'mask_token'
    }
    encoder_only['head.weight'] = torch.zeros(10, 192)  # fine-tuned files carry a head
    path = tmp_path / 'mae_pretrain_vit_tiny.pth'
    torch.save({'model': encoder_only}, path)
    model = init_model(DEMO_CFG, str(path))
    report = model.load_report
    assert report.left_new and all(k.startswith('decoder.') for k in report.left_new)
    assert report.dropped == ['head.weight']
    assert 'freshly initialised' in report.summary()
    assert torch.equal(
        model.mae.encoder.vit.blocks[0].attn.qkv.weight,
        core['encoder.vit.blocks.0.attn.qkv.weight'],
    )


def test_plugin_checkpoint_round_trip(tmp_path):
    model = init_model(DEMO_CFG)
    path = tmp_path / 'iter_1.pth'
    torch.save({'meta': {'iter': 1}, 'state_dict': model.state_dict()}, path)
    loaded = init_model(DEMO_CFG, str(path))
    assert loaded.load_report.format == 'plugin'
    x = torch.randn(2, 3, 64, 64)
    torch.testing.assert_close(extract_features(loaded, x), extract_features(model, x))


def test_missing_key_and_wrong_shape_are_listed(tmp_path):
    official = core_to_official(_demo_model_weights())
    del official['blocks.1.mlp.fc1.weight']
    official['norm.weight'] = torch.ones(7)
    path = tmp_path / 'bad.pth'
    torch.save({'model': official}, path)
    with pytest.raises(ValueError) as err:
        init_model(DEMO_CFG, str(path))
    text = str(err.value)
    assert 'encoder.vit.blocks.1.mlp.fc1.weight' in text and 'norm.weight' in text
    assert 'missing keys' in text and 'shape mismatches' in text
    assert 'another architecture' in text


def test_checkpoint_of_another_architecture_is_an_error(tmp_path):
    base_like = {
        'model': {
            'patch_embed.proj.weight': torch.zeros(768, 3, 16, 16),
            'cls_token': torch.zeros(1, 1, 768),
        }
    }
    with pytest.raises(ValueError, match='shape mismatches'):
        init_model(DEMO_CFG, base_like)
    with pytest.raises(ValueError, match='unknown checkpoint layout'):
        init_model(DEMO_CFG, {'optimizer': {}})


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_code_executing_pickle_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'model': {'x': _Exploit(str(marker))}}, path)
    assert not marker.exists()
    with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        load_checkpoint_file(path)
    with pytest.raises(UnsafeCheckpointError):
        init_model(DEMO_CFG, str(path))
    assert not marker.exists()


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_file(tmp_path / 'nope.pth')


def test_reconstruct_and_extract_features_contract():
    model = init_model(DEMO_CFG)
    x = torch.randn(2, 3, 64, 64)
    mask = torch.zeros(2, 64, dtype=torch.bool)
    mask[:, 16:] = True
    out = reconstruct(model, x, mask)
    assert out.pred.shape == (2, 64, 8 * 8 * 3) and torch.equal(out.mask, mask)
    assert out.images.shape == (2, 3, 64, 64) and out.loss.ndim == 0
    mean = model.data_preprocessor.mean
    std = model.data_preprocessor.std
    visible_pixels = (x * std + mean).clamp(0, 255)[:, :, :16, :]  # first 2 patch rows visible
    torch.testing.assert_close(out.images[:, :, :16, :], visible_pixels, rtol=1e-4, atol=1e-3)
    feats = extract_features(model, x)
    tokens = model.mae.encoder(x)
    assert torch.equal(feats, tokens[:, 0])
    assert torch.equal(extract_features(model, x, 'avg'), tokens[:, 1:].mean(1))


def test_load_mae_weights_copies_every_tensor_and_reports_it(tmp_path):
    source = _demo_model_weights(seed=5)
    path = tmp_path / 'checkpoint-3.pth'
    torch.save({'model': core_to_official(source), 'epoch': 3}, path)
    mae = init_model(DEMO_CFG).mae  # another seed: every tensor differs before the load
    assert not torch.equal(mae.decoder.pred.weight, source['decoder.pred.weight'])
    report = load_mae_weights(mae, path)
    state = mae.state_dict()
    assert state.keys() == source.keys()
    for key, value in source.items():
        assert torch.equal(state[key], value), key
    assert report.format == 'official' and report.source == str(path)
    assert report.loaded == sorted(source) and len(report.conversion.used) == len(source)
    assert report.dropped == ['epoch'] and report.left_new == [] and report.resampled == []
    assert report.summary() == (
        f'loaded {len(source)} tensors from {str(path)!r} (official format); dropped 1 (epoch)'
        '; position tables of 64 entries read as a square 8x8 grid (the file does not record '
        'its grid; another: src_img_size=(H, W) (load_mae_weights, load_encoder_weights), or '
        'record it in the file: python tools/convert_checkpoint.py IN OUT --to plugin '
        '--src-img-size H W)'
    )


def test_encoder_only_consumer_loads_resamples_and_reports(tmp_path):
    from timm.models.vision_transformer import VisionTransformer

    from mae_plugin.checkpoints import load_encoder_weights

    core = _demo_model_weights(seed=4)
    path = tmp_path / 'mae.pth'
    torch.save({'model': core_to_official(core)}, path)
    # a classifier at a larger input size: head is new, position table resampled 8x8 -> 12x12
    vit = VisionTransformer(
        img_size=96, patch_size=8, embed_dim=192, depth=6, num_heads=3, num_classes=10
    )
    report = load_encoder_weights(vit, path, grid_size=(12, 12), new_ok=['head.*'])
    assert report.left_new == ['head.bias', 'head.weight']
    assert any('8x8 -> 12x12' in r for r in report.resampled)
    assert all(
        why == 'MAE decoder, not part of an encoder'
        for k, why in report.conversion.dropped.items()
        if k.startswith('decoder.')
    )
    assert torch.equal(vit.blocks[5].mlp.fc2.weight, core['encoder.vit.blocks.5.mlp.fc2.weight'])
    with pytest.raises(ValueError, match='missing keys'):
        load_encoder_weights(
            VisionTransformer(
                img_size=64, patch_size=8, embed_dim=192, depth=6, num_heads=3, num_classes=10
            ),
            path,
            (8, 8),
        )


# a file of each container and of the formats that read differently (a folder's config, meta)
READ_PATH_FILES = {
    'hf': dict(to='hf', norm_pix=True, num_heads=3, decoder_num_heads=4),
    'timm.safetensors': dict(to='timm'),
    'official.pth': dict(to='official'),
    'lightly.pth': dict(to='lightly'),
    'plugin.pth': dict(to='plugin', src_img_size=(32, 32)),  # records its grid in meta
}


@pytest.mark.parametrize('name', [*READ_PATH_FILES, 'lightning.ckpt'])
def test_a_read_visits_each_module_once_going_down_the_line(tmp_path, name):
    torch.manual_seed(0)
    src = save_plugin_checkpoint(tiny_mae(), tmp_path / 'src.pth')
    path = tmp_path / name
    if name in READ_PATH_FILES:
        convert_checkpoint(src, path, **READ_PATH_FILES[name])
    else:
        weights = load_checkpoint_file(src)['state_dict']
        torch.save({'pytorch-lightning_version': '2.5.0', 'state_dict': weights}, path)
    entered = modules_entered(lambda: load_mae_weights(tiny_mae(), path))
    path_text = ' -> '.join(entered)
    assert not [m for m in set(entered) if entered.count(m) > 1], path_text
    stages = ['load', 'containers/read', 'detect', 'formats/', 'resample']
    firsts = [next(i for i, m in enumerate(entered) if m.startswith(s)) for s in stages]
    assert firsts == sorted(firsts), path_text
    assert entered[-1] == 'resample', path_text  # nothing below is visited again after it
