"""The machine a measurement ran on, and the device sync every timer needs."""

from __future__ import annotations

import platform

import torch


def device_name(device: str) -> str:
    """The model name of ``device``: the GPU's, or the CPU's ('model name' of /proc/cpuinfo on
    Linux, else what :mod:`platform` knows)."""
    if device.startswith('cuda'):
        return torch.cuda.get_device_name(torch.device(device))
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line(device: str, threads: int) -> str:
    """``device cpu (<model name>), 2 threads``: the first words of every benchmark mode."""
    return f'device {device} ({device_name(device)}), {threads} thread{"s" * (threads != 1)}'


def sync(device: str) -> None:
    """Wait for the GPU's queued work (a no-op on the CPU), so a host timer sees all of it."""
    if device.startswith('cuda'):
        torch.cuda.synchronize()
