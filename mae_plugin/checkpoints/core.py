"""The canonical key layout every converter maps to and from, and the conversion report.

Core keys are those of the pure-torch ``MaskedAutoencoder``: ``encoder.vit.<timm name>`` and
``decoder.<name>`` with ``<name>`` in embed, mask_token, pos_embed, blocks.N.*, norm, pred (the
official ``decoder_*`` names without their prefix). Converting is a prefix change wherever the
source keeps timm names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

ENCODER = 'encoder.vit.'
DECODER = 'decoder.'
HEAD_KEYS = ('head.', 'fc_norm.')  # a fine-tuned/linear-probe classifier: nothing MAE uses


class UnknownKeyError(KeyError):
    """A key that a converter has no place for (better an error than a silently lost tensor)."""

    def __str__(self) -> str:
        """The message alone (KeyError would show its repr, quotes escaped)."""
        return str(self.args[0])


@dataclass
class Conversion:
    """Result of reading a checkpoint: core ``state`` and an account of every source key."""

    format: str
    state: dict[str, Tensor] = field(default_factory=dict)
    used: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)  # source key -> why
    resampled: list[str] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)  # non-weight entries (optimizer, meta)
    grid: tuple[int, int] | None = None  # patch grid of the position tables, if the file says
    notes: list[str] = field(default_factory=list)  # what the output holds that no key said

    def take(self, source_key: str, core_key: str, value: Tensor) -> None:
        """Put ``value`` (from ``source_key``) under ``core_key`` and count it as used."""
        self.state[core_key] = value
        self.used.append(source_key)

    def drop(self, source_key: str, why: str) -> None:
        """Account for ``source_key`` as dropped, saying ``why`` (shown in the report)."""
        self.dropped[source_key] = why

    def report(self) -> str:
        """What was used, dropped (grouped by why), resampled and noted, one item a line."""
        lines = [f'format: {self.format}', f'used: {len(self.used)} tensors']
        if self.dropped:
            by_reason: dict[str, list[str]] = {}
            for key, why in self.dropped.items():
                by_reason.setdefault(why, []).append(key)
            for why, keys in by_reason.items():
                shown = ', '.join(keys[:6]) + (
                    f', ... ({len(keys)} in all)' if len(keys) > 6 else ''
                )
                lines.append(f'dropped ({why}): {shown}')
        lines += [f'resampled: {r}' for r in self.resampled]
        lines += [f'note: {n}' for n in self.notes]
        return '\n'.join(lines)


def inner_weights(ckpt: dict[str, Any], key: str = 'state_dict') -> dict[str, Any]:
    """``ckpt[key]`` when the weights are wrapped there (training checkpoints), else ``ckpt``."""
    inner = ckpt.get(key)
    return inner if isinstance(inner, dict) else ckpt


def drop_wrapper_entries(conv: Conversion, ckpt: dict[str, Any], weights: dict[str, Any]) -> None:
    """Account for the entries beside the weights (optimizer, epoch, meta, ...) as dropped."""
    if weights is ckpt:
        return
    for key, value in ckpt.items():
        if value is not weights:
            conv.drop(key, 'training state')


def encoder_key(timm_key: str) -> str:
    """The core key of a timm ViT key."""
    return ENCODER + timm_key


def split_core(state: dict[str, Tensor]) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """(encoder state in timm names, decoder state in core decoder names)."""
    enc = {k[len(ENCODER) :]: v for k, v in state.items() if k.startswith(ENCODER)}
    dec = {k[len(DECODER) :]: v for k, v in state.items() if k.startswith(DECODER)}
    other = set(state) - {ENCODER + k for k in enc} - {DECODER + k for k in dec}
    if other:
        raise UnknownKeyError(f'keys outside encoder and decoder: {sorted(other)[:5]}')
    return enc, dec


def official_decoder_name(core_name: str) -> str:
    """'embed.weight' -> 'decoder_embed.weight'; 'mask_token' stays."""
    return core_name if core_name == 'mask_token' else 'decoder_' + core_name


def core_decoder_name(official_name: str) -> str | None:
    """Inverse of :func:`official_decoder_name`; None if not a decoder key."""
    if official_name == 'mask_token':
        return 'mask_token'
    if official_name.startswith('decoder_'):
        return official_name[len('decoder_') :]
    return None


def is_timm_vit_key(key: str) -> bool:
    """Whether ``key`` names a tensor of timm's ``VisionTransformer`` that MAE uses."""
    return key in ('cls_token', 'pos_embed', 'reg_token') or key.startswith(
        ('patch_embed.', 'blocks.', 'norm.', 'norm_pre.')
    )
