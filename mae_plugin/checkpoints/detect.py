"""Detection: which format a checkpoint's plain dict is in, and its conversion to core keys.

Every format is asked in a fixed order (most specific layout first). Also the writer of a
format by name.
"""

from __future__ import annotations

from typing import Any

from .core import Conversion
from .formats import hf, lightly, lightning, mmpretrain, official, plugin, timm
from .formats.contract import CheckpointFormat

# lightning before plugin: both keep the MAE under 'mae.', only Lightning adds its version key
FORMATS: dict[str, CheckpointFormat] = {
    m.NAME: m for m in (lightning, plugin, mmpretrain, lightly, official, hf, timm)
}
WRITABLE = tuple(name for name, m in FORMATS.items() if m.WRITABLE)


def detect_format(ckpt: dict[str, Any]) -> str:
    """Name of the format of ``ckpt``; ValueError listing the top-level keys otherwise."""
    for name, module in FORMATS.items():
        if module.detect(ckpt):
            return name
    keys = sorted(ckpt)[:10]
    raise ValueError(
        f'unknown checkpoint layout (none of {sorted(FORMATS)}); top-level keys are {keys}'
    )


def to_core(ckpt: dict[str, Any], fmt: str | None = None) -> Conversion:
    """Read ``ckpt`` (format ``fmt`` or detected) into core keys, accounting for every key."""
    if not fmt:
        fmt = detect_format(ckpt)
    elif fmt not in FORMATS:
        raise ValueError(f'unknown format {fmt!r}; choose one of {sorted(FORMATS)}')
    elif not FORMATS[fmt].detect(ckpt):
        raise ValueError(
            f'the checkpoint is not in the {fmt!r} layout (it looks like {detect_format(ckpt)!r})'
        )
    return FORMATS[fmt].to_core(ckpt)


def from_core(state: dict[str, Any], fmt: str, **kwargs: Any) -> dict[str, Any]:
    """Write core ``state`` in format ``fmt`` (one of :data:`WRITABLE`)."""
    if fmt not in WRITABLE:
        raise ValueError(f'cannot write the {fmt!r} format; writable: {WRITABLE}')
    return FORMATS[fmt].from_core(state, **kwargs)
