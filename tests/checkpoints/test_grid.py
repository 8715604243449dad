"""Non-square position tables: written, read back, never guessed (timm's resampling as the
reference)."""

import pytest
import torch
from timm.layers import resample_abs_pos_embed
from timm.models.vision_transformer import VisionTransformer

from mae_plugin.checkpoints import load_checkpoint_file, load_encoder_weights, load_mae_weights
from mae_plugin.checkpoints.convert import convert_checkpoint
from tests.conftest import save_plugin_checkpoint, tiny_mae
from tools.convert_checkpoint import main as convert_main

ENC, DEC = 'encoder.vit.pos_embed', 'decoder.pos_embed'


@pytest.fixture
def square(tmp_path):
    """(path, core state) of a plugin checkpoint at 64 px, patch 8: an 8 x 8 grid."""
    torch.manual_seed(0)
    mae = tiny_mae(img_size=64, patch_size=8)
    return save_plugin_checkpoint(mae, tmp_path / 'square.pth'), mae.state_dict()


def resampled(table, new, old):
    return resample_abs_pos_embed(table, list(new), list(old), num_prefix_tokens=1)


def test_a_12x8_table_is_written_read_and_converted_again(tmp_path, square):
    src, core = square
    ref = {k: resampled(core[k], (12, 8), (8, 8)) for k in (ENC, DEC)}
    rect = str(tmp_path / 'rect.pth')
    convert_main([src, rect, '--to', 'plugin', '--img-size', '96', '64'])
    written = load_checkpoint_file(rect)
    assert written['meta']['pos_embed_grid'] == [12, 8]
    for key in (ENC, DEC):
        assert torch.equal(written['state_dict']['mae.' + key], ref[key]), key

    # read back by the loader into a model built at 96 x 64: the table fits as it is
    vit = VisionTransformer(
        img_size=(96, 64), patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=0
    )
    report = load_encoder_weights(vit, rect, grid_size=(12, 8))
    assert report.format == 'plugin' and report.resampled == []
    assert torch.equal(vit.pos_embed, ref[ENC])
    # and into the square MAE: the recorded 12 x 8 grid is what makes the table readable
    mae = tiny_mae(img_size=64, patch_size=8)
    report = load_mae_weights(mae, rect)
    assert report.resampled == [
        f'{k}: grid 12x8 -> 8x8 (timm resample_abs_pos_embed, bicubic)' for k in (ENC, DEC)
    ]
    for key in (ENC, DEC):
        torch.testing.assert_close(mae.state_dict()[key], resampled(ref[key], (8, 8), (12, 8)))

    # converted again, file to file, without --img-size: the grid comes from the meta
    convert_main([rect, str(tmp_path / 'timm.pth'), '--to', 'timm'])
    assert torch.equal(load_checkpoint_file(tmp_path / 'timm.pth')['pos_embed'], ref[ENC])
    convert_main([rect, str(tmp_path / 'official.pth'), '--to', 'official'])
    official = load_checkpoint_file(tmp_path / 'official.pth')['model']
    assert torch.equal(official['pos_embed'], ref[ENC])
    assert torch.equal(official['decoder_pos_embed'], ref[DEC])
    # a timm file records nothing: --img-size of the table's own size tells its grid
    convert_main(
        [
            str(tmp_path / 'timm.pth'),
            str(tmp_path / 'back.pth'),
            '--to',
            'plugin',
            '--img-size',
            '96',
            '64',
        ]
    )
    back = load_checkpoint_file(tmp_path / 'back.pth')
    assert back['meta']['pos_embed_grid'] == [12, 8]
    assert torch.equal(back['state_dict']['mae.' + ENC], ref[ENC])


def test_an_unknown_non_square_grid_is_an_error_saying_how_to_give_it(tmp_path, square):
    src, core = square
    rect_timm = str(tmp_path / 'rect_timm.pth')
    convert_main([src, rect_timm, '--to', 'timm', '--img-size', '96', '64'])
    with pytest.raises(ValueError, match=r'(?s)96 patch entries.*not a square.*--src-img-size'):
        convert_main([rect_timm, str(tmp_path / 'out.pth'), '--to', 'plugin'])
    with pytest.raises(ValueError, match=r'(?s)not a square.*8x8 grid it is read for'):
        load_encoder_weights(
            VisionTransformer(
                img_size=64, patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=0
            ),
            rect_timm,
            (8, 8),
        )
    with pytest.raises(ValueError, match='--src-img-size H W'):
        load_mae_weights(tiny_mae(img_size=64, patch_size=8), rect_timm)
    assert not (tmp_path / 'out.pth').exists()
    # given, the grid is used: back to 8 x 8 exactly as timm resamples 12 x 8 -> 8 x 8
    convert_main(
        [
            rect_timm,
            str(tmp_path / 'sq.pth'),
            '--to',
            'timm',
            '--src-img-size',
            '96',
            '64',
            '--img-size',
            '64',
        ]
    )
    table = load_checkpoint_file(tmp_path / 'sq.pth')['pos_embed']
    expected = resampled(resampled(core[ENC], (12, 8), (8, 8)), (8, 8), (12, 8))
    assert torch.equal(table, expected)
    # the transposed grid has the same token count: given, it is not confused with 12 x 8
    convert_main(
        [rect_timm, str(tmp_path / 't.pth'), '--to', 'plugin', '--src-img-size', '64', '96']
    )
    assert load_checkpoint_file(tmp_path / 't.pth')['meta']['pos_embed_grid'] == [8, 12]


def test_a_recorded_grid_is_checked(tmp_path, square):
    src, _ = square
    rect = str(tmp_path / 'rect.pth')
    convert_main([src, rect, '--to', 'plugin', '--img-size', '96', '64'])
    with pytest.raises(ValueError, match='--src-img-size gives a 8x12 grid but .* records 12x8'):
        convert_checkpoint(rect, tmp_path / 'x.pth', 'timm', src_img_size=(64, 96))
    ckpt = load_checkpoint_file(rect)
    for bad, message in (
        ([10, 10], 'records a 10x10 grid but the table has 96'),
        ('12x8', r"meta\['pos_embed_grid'\] must be \[h, w\].*'12x8'"),
    ):
        ckpt['meta']['pos_embed_grid'] = bad
        torch.save(ckpt, tmp_path / 'bad.pth')
        with pytest.raises(ValueError, match=message):
            convert_checkpoint(tmp_path / 'bad.pth', tmp_path / 'x.pth', 'timm')
        with pytest.raises(ValueError, match=message):
            load_mae_weights(tiny_mae(img_size=64, patch_size=8), ckpt)
    with pytest.raises(SystemExit):
        convert_main([rect, str(tmp_path / 'x.pth'), '--to', 'timm', '--img-size', '8', '8', '8'])
    assert not (tmp_path / 'x.pth').exists()
