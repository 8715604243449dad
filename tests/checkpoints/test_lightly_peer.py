"""The benchmark's lightly peer is lightly's current MAE example (decoder_embed +
MaskedVisionTransformerDecoderTIMM + prediction_head): its weights read as the ``lightly``
format, and its loss is the plugin's for the same weights, images and mask."""

import warnings

import torch

from mae_plugin.benchmark.peers import build_peer
from mae_plugin.checkpoints import load_mae_weights, to_core
from tests.conftest import tiny_mae

ENCODER = dict(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3)
DECODER = dict(embed_dim=32, depth=2, num_heads=4)


def test_the_lightly_peer_is_the_current_example_and_scores_as_the_plugin():
    torch.manual_seed(0)
    mae = tiny_mae()  # 32 px, patch 8, the sizes above, norm-pix
    with warnings.catch_warnings():
        warnings.simplefilter('error', FutureWarning)  # nothing deprecated (MAEDecoderTIMM)
        model, step_loss = build_peer('lightly', mae, ENCODER, DECODER)
    state = model.state_dict()
    assert 'prediction_head.weight' in state and 'decoder.blocks.0.attn.qkv.weight' in state
    assert not any(k.startswith('decoder.decoder_') for k in state)
    conv = to_core(state)
    assert conv.format == 'lightly' and sorted(conv.dropped) == ['backbone.mask_token']
    load_mae_weights(mae, state)

    images = torch.randn(2, 3, 32, 32)
    torch.manual_seed(1)
    with torch.no_grad():
        loss = step_loss(images)
    # the mask lightly's random_token_mask drew from the same seed: argsort of noise, cls first
    torch.manual_seed(1)
    noise = torch.rand(2, 17)
    noise[:, 0] = -1
    idx_mask = torch.argsort(noise, dim=1)[:, 1 + 4 :]
    mask = torch.zeros(2, 16, dtype=torch.bool).scatter_(1, idx_mask - 1, True)
    with torch.no_grad():
        torch.testing.assert_close(mae.eval()(images, mask).loss, loss, rtol=1e-5, atol=1e-6)
