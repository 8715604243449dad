"""Load any known MAE checkpoint into a ``MaskedAutoencoder``, strictly, with a report."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .formats import DECODER, ENCODER, to_core
from .safe_load import load_checkpoint_file


@dataclass
class LoadReport:
    """What a load did: source format, keys loaded, dropped from the file, left as initialised."""

    source: str
    format: str
    loaded: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    kept_init: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (f'loaded {len(self.loaded)} tensors from {self.source!r} ({self.format} format)'
                f'; dropped {len(self.dropped)}')
        if self.dropped:
            text += f' ({", ".join(self.dropped[:5])}{", ..." if len(self.dropped) > 5 else ""})'
        if self.kept_init:
            text += (f'; {len(self.kept_init)} decoder tensors are not in the file and stay '
                     'freshly initialised (an encoder-only checkpoint)')
        return text


def load_mae_weights(mae: nn.Module, checkpoint: str | os.PathLike | dict[str, Any]
                     ) -> LoadReport:
    """Copy the weights of ``checkpoint`` (path or loaded dict) into ``mae`` (a MaskedAutoencoder).

    Every encoder tensor must be present with the right shape; decoder tensors may all be absent
    (encoder-only release) but not only some. Errors list every offending key.
    """
    source = os.fspath(checkpoint) if not isinstance(checkpoint, dict) else '<dict>'
    raw = checkpoint if isinstance(checkpoint, dict) else load_checkpoint_file(checkpoint)
    fmt, incoming, dropped = to_core(raw)
    target = mae.state_dict()

    unexpected = sorted(k for k in incoming if k not in target)
    missing_enc = sorted(k for k in target if k.startswith(ENCODER) and k not in incoming)
    dec_keys = [k for k in target if k.startswith(DECODER)]
    have_dec = [k for k in dec_keys if k in incoming]
    missing_dec = sorted(k for k in dec_keys if k not in incoming) if have_dec else []
    wrong = sorted(f'{k}: file {tuple(v.shape)} vs model {tuple(target[k].shape)}'
                   for k, v in incoming.items() if k in target and v.shape != target[k].shape)
    problems = []
    for title, keys in (('missing encoder keys', missing_enc), ('missing decoder keys',
                        missing_dec), ('keys the model does not have', unexpected),
                        ('shape mismatches', wrong)):
        if keys:
            problems.append(f'{title} ({len(keys)}): {", ".join(keys[:8])}'
                            + (', ...' if len(keys) > 8 else ''))
    if problems:
        raise ValueError(f'checkpoint {source!r} ({fmt} format) does not fit this MAE '
                         '(another architecture?): ' + '; '.join(problems))
    with torch.no_grad():
        for key, value in incoming.items():
            target[key].copy_(value)
    kept = [] if have_dec else sorted(dec_keys)
    return LoadReport(source, fmt, sorted(incoming), dropped, kept)
