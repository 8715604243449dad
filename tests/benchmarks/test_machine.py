"""benchmarks/machine.py: the machine line every benchmark mode prints first."""

import re

from benchmarks.machine import device_name, machine_line, sync


def test_the_machine_line_names_the_device_its_model_and_the_threads():
    name = device_name('cpu')
    assert name and name == name.strip()
    assert machine_line('cpu', 1) == f'device cpu ({name}), 1 thread'
    assert re.fullmatch(r'device cpu \(.+\), 2 threads', machine_line('cpu', 2))
    sync('cpu')  # nothing to wait for on the CPU
