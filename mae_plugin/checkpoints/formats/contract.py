"""The contract every format module implements (a module satisfies the protocol itself)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from torch import Tensor

from ..core import Conversion


@runtime_checkable
class CheckpointFormat(Protocol):
    """A checkpoint layout, between the plain dict of a file and the core keys.

    Attributes:
        NAME: the name users give (``--from``/``--to``, ``fmt=``) and reports show.
        WRITABLE: whether :meth:`from_core` writes this layout (False: import only).
    """

    NAME: str
    WRITABLE: bool

    def detect(self, ckpt: dict[str, Any]) -> bool:
        """Whether ``ckpt`` (the dict a container reader returned) is in this layout.

        Reads keys only, calls nothing: detection asks every format in turn.
        """
        ...

    def to_core(self, ckpt: dict[str, Any]) -> Conversion:
        """Read ``ckpt`` into core keys, accounting for every key of it.

        Returns:
            The core state (``encoder.vit.<timm name>``, ``decoder.<name>``) with what was
            used, dropped (and why), the grid the file records and what it carries beside.

        Raises:
            UnknownKeyError: a key with no place in an MAE (never silently dropped).
        """
        ...

    def from_core(self, state: dict[str, Tensor], **options: Any) -> dict[str, Any]:
        """Write core ``state`` in this layout.

        ``options`` are the format's own (unknown ones ignored). An import-only format raises
        ValueError.
        """
        ...
