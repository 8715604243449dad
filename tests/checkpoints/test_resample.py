"""Position tables of any grid: written, read back, never read on the grid of the model they
are loaded into; a file that does not record its grid is read as square only when its count is
a square, and the report says so and how to give another (timm's resampling as the reference)."""

import re

import pytest
import torch
from timm.layers import resample_abs_pos_embed
from timm.models.vision_transformer import VisionTransformer

from mae_plugin.apis import init_model
from mae_plugin.checkpoints import (
    from_core,
    load_checkpoint_file,
    load_encoder_weights,
    load_mae_weights,
)
from mae_plugin.checkpoints.convert import convert_checkpoint
from tests.helpers.checkpoints import DEMO_CFG, save, save_plugin_checkpoint
from tests.helpers.models import tiny_mae
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
    # a timm file records nothing: --src-img-size tells its grid (--img-size alone does not)
    with pytest.raises(ValueError, match='not a square'):
        convert_main(
            [str(tmp_path / 'timm.pth'), str(tmp_path / 'x.pth'), '--to', 'plugin',
             '--img-size', '96', '64']
        )  # fmt: skip
    convert_main(
        [
            str(tmp_path / 'timm.pth'),
            str(tmp_path / 'back.pth'),
            '--to',
            'plugin',
            '--src-img-size',
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
    with pytest.raises(ValueError, match=r'(?s)not a square.*src_img_size=\(H, W\)'):
        load_encoder_weights(
            VisionTransformer(
                img_size=64, patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=0
            ),
            rect_timm,
            (8, 8),
        )
    with pytest.raises(ValueError, match='--src-img-size H W'):
        load_mae_weights(tiny_mae(img_size=64, patch_size=8), rect_timm)
    # the loader takes the grid too
    mae = tiny_mae(img_size=64, patch_size=8)
    load_mae_weights(mae, rect_timm, src_img_size=(96, 64))
    torch.testing.assert_close(
        mae.state_dict()[ENC], resampled(resampled(core[ENC], (12, 8), (8, 8)), (8, 8), (12, 8))
    )
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
    with pytest.raises(
        ValueError,
        match=r'\(--src-img-size, src_img_size\) makes a 8x12 grid but the checkpoint records 12x8',
    ):
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


def test_a_square_count_is_read_square_and_the_report_says_how_to_give_another(
    tmp_path, square, capsys
):
    """An 18 x 32 table has 576 = 24 x 24 entries: a file that does not record its grid is read
    as 24 x 24, the report of the tool and of the loader says so and how to give the grid."""
    src, core = square
    wide = str(tmp_path / 'wide_timm.pth')  # 144 x 256 px, patch 8: 18 x 32, nothing recorded
    convert_main([src, wide, '--to', 'timm', '--img-size', '144', '256'])
    table = load_checkpoint_file(wide)['pos_embed']
    assert table.shape[1] == 1 + 576
    capsys.readouterr()
    convert_main([wide, str(tmp_path / 'sq.pth'), '--to', 'plugin'])
    printed = capsys.readouterr().out
    assert 'read as a square 24x24 grid' in printed and '--src-img-size H W' in printed
    # given, the grid is the file's own: recorded, table unchanged
    convert_main(
        [wide, str(tmp_path / 'given.pth'), '--to', 'plugin', '--src-img-size', '144', '256']
    )
    given = load_checkpoint_file(tmp_path / 'given.pth')
    assert given['meta']['pos_embed_grid'] == [18, 32]
    assert torch.equal(given['state_dict']['mae.' + ENC], table)

    # the loader: a 24 x 24 model reads it as 24 x 24 only with a note saying so ...
    report = load_mae_weights(tiny_mae(img_size=192, patch_size=8), wide)
    assert report.resampled == []
    assert 'read as a square 24x24 grid' in report.summary()
    assert 'src_img_size=(H, W)' in report.summary()
    # ... and, told the input size, resamples 18 x 32 -> 24 x 24 as timm does
    mae = tiny_mae(img_size=192, patch_size=8)
    report = load_mae_weights(mae, wide, src_img_size=(144, 256))
    assert 'read as a square' not in report.summary()
    torch.testing.assert_close(mae.state_dict()[ENC], resampled(table, (24, 24), (18, 32)))
    vit = VisionTransformer(
        img_size=64, patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=0
    )
    load_encoder_weights(vit, wide, (8, 8), src_img_size=(144, 256))
    torch.testing.assert_close(vit.pos_embed, resampled(table, (8, 8), (18, 32)))


def test_a_non_square_table_is_never_read_on_the_grid_of_the_model(tmp_path, square):
    """An 8 x 12 table (64 x 96 px) has the token count of a 12 x 8 model (96 x 64 px): without
    a recorded or given grid it is an error, never read as 12 x 8."""
    src, core = square
    tall = str(tmp_path / 'tall_timm.pth')
    convert_main([src, tall, '--to', 'timm', '--img-size', '64', '96'])  # 8 x 12
    table = load_checkpoint_file(tall)['pos_embed']
    wide_vit = VisionTransformer(
        img_size=(96, 64), patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=0
    )
    named = rf"(?s)checkpoint '{re.escape(tall)}'.*96 patch entries.*not a square.*src_img_size"
    with pytest.raises(ValueError, match=named):
        load_encoder_weights(wide_vit, tall, (12, 8))
    with pytest.raises(ValueError, match=r'(?s)not a square.*--src-img-size H W'):
        convert_main([tall, str(tmp_path / 'x.pth'), '--to', 'plugin', '--img-size', '96', '64'])
    assert not (tmp_path / 'x.pth').exists()
    # given, 8 x 12 is resampled to 12 x 8 exactly as timm does it
    expected = resampled(table, (12, 8), (8, 12))
    report = load_encoder_weights(wide_vit, tall, (12, 8), src_img_size=(64, 96))
    assert report.resampled == [f'{ENC}: grid 8x12 -> 12x8 (timm resample_abs_pos_embed, bicubic)']
    assert torch.equal(wide_vit.pos_embed, expected)
    convert_main(
        [
            tall,
            str(tmp_path / 'w.pth'),
            '--to',
            'plugin',
            '--src-img-size',
            '64',
            '96',
            '--img-size',
            '96',
            '64',
        ]
    )
    written = load_checkpoint_file(tmp_path / 'w.pth')
    assert written['meta']['pos_embed_grid'] == [12, 8]
    assert torch.equal(written['state_dict']['mae.' + ENC], expected)


def test_resampling_to_a_larger_and_a_non_square_grid(tmp_path, demo_core):
    src = save(tmp_path, 'plugin.pth', from_core(demo_core, 'plugin'))
    conv = convert_checkpoint(src, tmp_path / 'rect.pth', 'timm', img_size=(96, 64))
    table = load_checkpoint_file(tmp_path / 'rect.pth')['pos_embed']
    assert table.shape == (1, 1 + 12 * 8, 192)
    assert any('8x8 -> 12x8' in r for r in conv.resampled)
    assert torch.equal(table[:, 0], demo_core['encoder.vit.pos_embed'][:, 0])  # cls slot kept
    # and when loading into a model pretrained at a larger size
    model = init_model(DEMO_CFG, src, cfg_options={'model.encoder.img_size': 128})
    report = model.load_report
    assert model.mae.encoder.vit.pos_embed.shape == (1, 1 + 16 * 16, 192)
    assert any('encoder.vit.pos_embed: grid 8x8 -> 16x16' in r for r in report.resampled)
    assert 'resampled' in report.summary()
