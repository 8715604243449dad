"""The curves read from scalars.json (tools/analyze_logs.py's input): rows of one step merge key by
key, later rows winning; a cut line and a missing work dir are errors naming them."""

import json

import pytest

from mae_plugin.analysis import load_run, read_scalars


def test_rows_of_one_step_merge_key_by_key_later_rows_winning(tmp_path):
    path = tmp_path / 'scalars.json'
    path.write_text(
        '\n'.join(
            json.dumps(r)
            for r in [
                {'loss': 2.0, 'knn_top1': 10.0, 'step': 1},
                {'knn_top1': 12.5, 'step': 1},
                {'loss': 1.5, 'step': 2},
            ]
        )
        + '\n'
    )
    assert read_scalars(path) == {1: {'loss': 2.0, 'knn_top1': 12.5}, 2: {'loss': 1.5}}


def test_a_cut_line_and_a_missing_work_dir_are_errors_naming_them(tmp_path):
    path = tmp_path / 'scalars.json'
    path.write_text('{"loss": 2.0, "step": 1}\n{"loss": 1.')
    with pytest.raises(ValueError, match=r'scalars.json, line 2: not JSON'):
        read_scalars(path)
    with pytest.raises(FileNotFoundError, match='holds no <timestamp>/vis_data/scalars.json'):
        load_run(tmp_path)
