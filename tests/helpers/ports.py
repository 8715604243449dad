"""Free TCP ports for torchrun / DDP rendezvous (``MASTER_PORT``)."""

import itertools
import os
import random
import socket

# Rendezvous ports below the kernel's ephemeral range (32768 and up on Linux), so no outgoing
# connection takes one between the test choosing it and torchrun binding it; each xdist worker
# its own block of 1000, from a random start (other pytest sessions on the machine).
_WORKER = int(os.environ.get('PYTEST_XDIST_WORKER', 'gw0').removeprefix('gw') or 0)
_PORTS = itertools.count(random.randrange(1000))


def free_port() -> str:
    """A TCP port nobody listens on now, for one torchrun/DDP launch (``MASTER_PORT``)."""
    base = 20000 + 1000 * (_WORKER % 12)
    for _ in range(1000):
        port = base + next(_PORTS) % 1000
        with socket.socket() as s:
            try:
                s.bind(('127.0.0.1', port))
            except OSError:
                continue
        return str(port)
    raise OSError(f'no free port in {base}-{base + 999}')
