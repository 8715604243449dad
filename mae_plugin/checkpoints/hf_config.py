"""``config.json`` of a Hugging Face ViTMAE folder: derived from the weights, checked against them.

Derived on write, checked on read. Plain JSON: parsed with ``json``, nothing in it runs.

Sizes (hidden_size, num_hidden_layers, intermediate_size, image_size, patch_size,
num_channels, qkv_bias and the decoder's) are read off the weights. What they do not hold comes
from arguments, else from the source's own config: ``norm_pix_loss`` (required when a decoder
is written: it is the space its predictions are in), ``mask_ratio`` (else the paper's 0.75) and
the head counts (else the paper's sizes by width: 192 -> 3, 768 -> 12, 1024 and 1280 -> 16;
decoder 512 -> 16; said in the report, an error for any other width).
``layer_norm_eps`` is 1e-6, as MAE was trained (transformers' default is 1e-12).
"""

from __future__ import annotations

import re
from typing import Any

from torch import Tensor

from .core import DECODER, ENCODER

# transformers' ViTMAEConfig defaults: what it builds for a field config.json leaves out
HF_DEFAULTS: dict[str, Any] = dict(
    hidden_size=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    hidden_act='gelu',
    image_size=224,
    patch_size=16,
    num_channels=3,
    qkv_bias=True,
    layer_norm_eps=1e-12,
    decoder_hidden_size=512,
    decoder_num_hidden_layers=8,
    decoder_num_attention_heads=16,
    decoder_intermediate_size=2048,
    mask_ratio=0.75,
    norm_pix_loss=False,
)
PAPER_HEADS = {192: 3, 768: 12, 1024: 16, 1280: 16}  # ViT-Ti/B/L/H (mae_plugin.models.factory)
PAPER_DECODER_HEADS = {512: 16}
LAYER_NORM_EPS = 1e-6


def _depth(state: dict[str, Tensor], prefix: str) -> int:
    found = {int(m.group(1)) for k in state if (m := re.match(re.escape(prefix) + r'(\d+)\.', k))}
    return max(found) + 1 if found else 0


def _size(value: Any, field: str, where: str) -> tuple[int, int]:
    """(h, w) of an int or [h, w] config value; ValueError naming ``field`` otherwise."""
    pair = [value, value] if isinstance(value, int) else value
    if not (
        isinstance(pair, (list, tuple))
        and len(pair) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in pair)
    ):
        raise ValueError(f'{where}: {field} = {value!r} is not a positive int or [h, w]')
    return int(pair[0]), int(pair[1])


def config_grid(config: dict[str, Any], where: str = 'config.json') -> tuple[int, int]:
    """Patch grid (h, w) of ``config``'s image_size and patch_size."""
    image = _size(config.get('image_size', HF_DEFAULTS['image_size']), 'image_size', where)
    patch = _size(config.get('patch_size', HF_DEFAULTS['patch_size']), 'patch_size', where)
    if image[0] % patch[0] or image[1] % patch[1]:
        raise ValueError(
            f'{where}: image_size = {list(image)} is not divisible by patch_size = {list(patch)}'
        )
    return image[0] // patch[0], image[1] // patch[1]


def derived_sizes(state: dict[str, Tensor], grid: tuple[int, int]) -> dict[str, tuple[Any, str]]:
    """Every field the core ``state`` fixes: field -> (value, the weights that say so)."""
    proj = state[ENCODER + 'patch_embed.proj.weight']
    if proj.shape[-1] != proj.shape[-2]:
        raise ValueError(
            f'patch embedding {tuple(proj.shape)}: a non-square patch has no ViTMAE config'
        )
    embed = f'patch embedding {tuple(proj.shape)}'
    patch = proj.shape[-1]
    image = [grid[0] * patch, grid[1] * patch]
    out: dict[str, tuple[Any, str]] = {
        'hidden_size': (proj.shape[0], embed),
        'num_channels': (proj.shape[1], embed),
        'patch_size': (patch, embed),
        'image_size': (
            image[0] if image[0] == image[1] else image,
            f'position table {tuple(state[ENCODER + "pos_embed"].shape)} on a '
            f'{grid[0]}x{grid[1]} grid of {patch} px patches',
        ),
        'num_hidden_layers': (_depth(state, ENCODER + 'blocks.'), 'encoder layers'),
    }
    fc1 = state.get(ENCODER + 'blocks.0.mlp.fc1.weight')
    if fc1 is not None:
        out['intermediate_size'] = (fc1.shape[0], f'layer 0 intermediate.dense {tuple(fc1.shape)}')
        out['qkv_bias'] = (ENCODER + 'blocks.0.attn.qkv.bias' in state, 'layer 0 query bias')
    if DECODER + 'embed.weight' in state:
        dec = state[DECODER + 'embed.weight']
        out['decoder_hidden_size'] = (dec.shape[0], f'decoder_embed {tuple(dec.shape)}')
        out['decoder_num_hidden_layers'] = (_depth(state, DECODER + 'blocks.'), 'decoder layers')
        dfc1 = state.get(DECODER + 'blocks.0.mlp.fc1.weight')
        if dfc1 is not None:
            out['decoder_intermediate_size'] = (
                dfc1.shape[0],
                f'decoder layer 0 intermediate.dense {tuple(dfc1.shape)}',
            )
    return out


def _heads(
    width: int,
    field: str,
    given: int | None,
    source: dict[str, Any],
    paper: dict[int, int],
    notes: list[str],
) -> int:
    if given is None and field in source:
        given = source[field]
    if given is None:
        if width not in paper:
            raise ValueError(
                f'{field}: the weights do not hold the head count and a width of '
                f"{width} is none of the paper's sizes {sorted(paper)}; give it "
                f'(--{field.replace("_attention", "").replace("_", "-")})'
            )
        given = paper[width]
        notes.append(
            f"{field} = {given}: the paper's head count for width {width} (not in "
            'the weights; give it if yours differs)'
        )
    if not isinstance(given, int) or given <= 0 or width % given:
        raise ValueError(f'{field} = {given!r} does not divide the width {width}')
    return given


def build_config(
    state: dict[str, Tensor],
    grid: tuple[int, int],
    source: dict[str, Any] | None = None,
    norm_pix: bool | None = None,
    mask_ratio: float | None = None,
    num_heads: int | None = None,
    decoder_num_heads: int | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """(config.json contents, notes on what was not in the weights) for core ``state``."""
    source = source or {}
    notes: list[str] = []
    sizes = {field: value for field, (value, _) in derived_sizes(state, grid).items()}
    sizes.setdefault('intermediate_size', 4 * sizes['hidden_size'])  # depth 0: unused
    sizes.setdefault('qkv_bias', True)
    has_decoder = 'decoder_hidden_size' in sizes
    config: dict[str, Any] = {
        'architectures': ['ViTMAEForPreTraining' if has_decoder else 'ViTMAEModel'],
        'model_type': 'vit_mae',
        'hidden_act': 'gelu',
        'hidden_dropout_prob': 0.0,
        'attention_probs_dropout_prob': 0.0,
        'initializer_range': 0.02,
        'layer_norm_eps': LAYER_NORM_EPS,
        **sizes,
        'num_attention_heads': _heads(
            sizes['hidden_size'], 'num_attention_heads', num_heads, source, PAPER_HEADS, notes
        ),
    }
    if mask_ratio is None:
        mask_ratio = source.get('mask_ratio')
        if mask_ratio is None:
            mask_ratio = HF_DEFAULTS['mask_ratio']
            notes.append(f"mask_ratio = {mask_ratio}: the paper's (a training setting)")
    if not 0.0 <= float(mask_ratio) < 1.0:
        raise ValueError(f'mask_ratio = {mask_ratio!r} is not in [0, 1)')
    config['mask_ratio'] = float(mask_ratio)
    if not has_decoder:
        return config, notes
    sizes.setdefault('decoder_intermediate_size', 4 * sizes['decoder_hidden_size'])
    config['decoder_intermediate_size'] = sizes['decoder_intermediate_size']
    config['decoder_num_attention_heads'] = _heads(
        sizes['decoder_hidden_size'],
        'decoder_num_attention_heads',
        decoder_num_heads,
        source,
        PAPER_DECODER_HEADS,
        notes,
    )
    if norm_pix is None:
        norm_pix = source.get('norm_pix_loss')
    if not isinstance(norm_pix, bool):
        raise ValueError(
            'norm_pix_loss: say whether the decoder predicts normalised pixels '
            "(--norm-pix: the plugin's recipes and mae_pretrain releases) or raw "
            'ones (--no-norm-pix: the mae_visualize releases); the weights do not '
            'tell'
        )
    config['norm_pix_loss'] = norm_pix
    return config, notes


def check_config(
    config: Any, state: dict[str, Tensor], where: str, weights: str
) -> tuple[int, int]:
    """The grid of ``config``, checked against the core ``state`` read from ``weights``.

    Raises:
        ValueError: naming ``where`` (the config file), the field and both values wherever
            ``config`` disagrees with the weights.
    """
    if not isinstance(config, dict):
        raise ValueError(f'{where}: holds a {type(config).__name__}, not a JSON object')
    fixed = {'model_type': 'vit_mae', 'hidden_act': 'gelu'}
    for field, value in fixed.items():
        if config.get(field, value) != value:
            raise ValueError(
                f'{where}: {field} = {config[field]!r}, the plugin reads {field} = {value!r} only'
            )
    grid = config_grid(config, where)
    tokens = state[ENCODER + 'pos_embed'].shape[1] - 1
    if tokens != grid[0] * grid[1]:
        raise ValueError(
            f'{where}: image_size = {config.get("image_size")!r} and patch_size = '
            f'{config.get("patch_size")!r} make a {grid[0]}x{grid[1]} grid, but the '
            f'position table in {weights} has {tokens} patch entries'
        )
    for field, (value, evidence) in derived_sizes(state, grid).items():
        said = config.get(field, HF_DEFAULTS[field])
        if said != value and not (
            field == 'image_size' and _size(said, field, where) == _size(value, field, where)
        ):
            absent = '' if field in config else " (absent: transformers' default)"
            raise ValueError(
                f'{where}: {field} = {said!r}{absent}, but the weights in {weights} '
                f'have {value!r} ({evidence})'
            )
    for field, width in (
        ('num_attention_heads', 'hidden_size'),
        ('decoder_num_attention_heads', 'decoder_hidden_size'),
    ):
        heads = config.get(field, HF_DEFAULTS[field])
        dim = config.get(width, HF_DEFAULTS[width])
        if not isinstance(heads, int) or heads <= 0 or dim % heads:
            raise ValueError(f'{where}: {field} = {heads!r} does not divide {width} = {dim}')
    return grid
