"""Reading what a run left behind (logs), runner-free: usable from tools/ and ``make demo``."""

from .curves import load_run, plot_curves, read_scalars, scalar_files, series

__all__ = ['load_run', 'plot_curves', 'read_scalars', 'scalar_files', 'series']
