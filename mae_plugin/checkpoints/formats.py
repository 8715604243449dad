"""The checkpoint formats, detected in a fixed order (most specific layout first)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from . import hf_format, lightly_format, lightning_ckpt, mmpretrain, official, plugin, timm_format
from .core import Conversion

FORMATS: dict[str, ModuleType] = {
    m.NAME: m
    for m in (lightning_ckpt, plugin, mmpretrain, lightly_format, official, hf_format, timm_format)
}
WRITABLE = tuple(name for name, m in FORMATS.items() if hasattr(m, 'from_core'))


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
    fmt = fmt or detect_format(ckpt)
    if fmt not in FORMATS:
        raise ValueError(f'unknown format {fmt!r}; choose one of {sorted(FORMATS)}')
    if not FORMATS[fmt].detect(ckpt):
        raise ValueError(
            f'the checkpoint is not in the {fmt!r} layout (it looks like {detect_format(ckpt)!r})'
        )
    return FORMATS[fmt].to_core(ckpt)


def from_core(state: dict[str, Any], fmt: str, **kwargs: Any) -> dict[str, Any]:
    """Write core ``state`` in format ``fmt``."""
    if fmt not in WRITABLE:
        raise ValueError(f'cannot write the {fmt!r} format; writable: {WRITABLE}')
    return FORMATS[fmt].from_core(state, **kwargs)
