"""tools/memory_on_paper.py: a row per model and strategy (the formulas themselves:
tests/benchmarks/test_memory.py)."""

import os

from tests.helpers.paths import ROOT
from tools.memory_on_paper import main


def test_the_tool_prints_a_row_per_model_and_strategy(capsys):
    main([os.path.join(ROOT, 'configs', 'mae_vit-t_demo.py'), '--gpus', '2', '--images', '8'])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith('| mae_')]
    assert [row.split(' | ')[1] for row in rows] == ['DDP', 'FSDP2 x 2']
