"""``MAEFlexibleRunner``: MMEngine's ``FlexibleRunner`` under the plugin's rules.

The runner of strategies (e.g. ``MAEFSDP2Strategy``). The rules are shared with ``MAERunner``
through ``runner_rules.py``:

- **nothing from a file runs**: ``meta['config']``/``meta['cfg']`` text is dropped unread before
  any hook or the stock ``resume`` sees it (``FlexibleRunner.resume`` hands ``meta['config']``
  to ``Config.fromstring``, which executes it);
- **lr rule**: with ``auto_scale_lr`` enabled the strategy must apply batch x processes x
  accumulation / base batch (``MAEFSDP2Strategy`` does); MMEngine's strategies leave
  accumulation out, so they are refused rather than silently off by the accumulation count;
- **strict loading**: the strategy's loading (``MAEFSDP2Strategy``: strict, code-free).
"""

from __future__ import annotations

from typing import Any

from mmengine._strategy import BaseStrategy
from mmengine.runner._flexible_runner import FlexibleRunner

from ..registry import RUNNERS
from .runner_rules import drop_config_text, hooks_turned_off
from .strategy import MAEFSDP2Strategy


@RUNNERS.register_module()
class MAEFlexibleRunner(FlexibleRunner):
    """``FlexibleRunner`` with the plugin's rules; see the module docstring."""

    def build_strategy(self, strategy: BaseStrategy | dict | None = None, **kwargs: Any):
        """The stock strategy, refused under ``auto_scale_lr`` unless it is ``MAEFSDP2Strategy``.

        Raises:
            ValueError: ``auto_scale_lr`` is on and the strategy would leave accumulation out.
        """
        built = super().build_strategy(strategy, **kwargs)
        scaled = self._auto_scale_lr and self._auto_scale_lr.get('enable', False)
        if scaled and not isinstance(built, MAEFSDP2Strategy):
            raise ValueError(
                f'auto_scale_lr is enabled but strategy {type(built).__name__} scales the lr '
                'without gradient accumulation: use MAEFSDP2Strategy, or MAERunner for DDP'
            )
        return built

    def register_default_hooks(self, hooks: dict | None = None) -> None:
        """The stock default hooks, where ``<name>=None`` also turns off the plugin's."""
        # a sharded run turns off the rank-0-only hooks with None
        super().register_default_hooks(hooks_turned_off(hooks))

    def call_hook(self, fn_name: str, **kwargs: Any) -> None:
        """Call the hooks; a loaded checkpoint's config text is dropped unread before any runs."""
        if fn_name == 'after_load_checkpoint':
            # every load passes here first (the strategies' callback), before resume reads meta
            drop_config_text(kwargs['checkpoint'], 'the loaded checkpoint', self.logger)
        super().call_hook(fn_name, **kwargs)
