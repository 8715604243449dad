"""The snippet harness on tiny markdown pages: what it parses, runs, skips and refuses."""

import importlib.util
import os

import pytest

from tests.docs import substitutions as subs
from tests.docs.runner import (
    ROOT,
    check,
    check_install,
    environment,
    expand_make,
    run_block,
    run_command,
    run_python,
    workspace,
)
from tests.docs.selection import covered_by, skip_unless_runnable
from tests.docs.snippets import Command, SnippetError, commands, read_blocks


def page(tmp_path, text: str) -> list:
    """The python and command blocks of a markdown file holding ``text``."""
    path = tmp_path / 'page.md'
    path.write_text(text)
    return [b for b in read_blocks(str(path), str(tmp_path)) if b.kind != 'other']


@pytest.fixture
def bare(tmp_path):
    """A workspace without demo data (enough for commands that read none)."""
    template = tmp_path / 'template'
    (template / 'data').mkdir(parents=True)
    (template / 'work_dirs').mkdir()
    return workspace(str(tmp_path / 'repo'), str(template))


def test_blocks_carry_file_line_and_language(tmp_path):
    text = 'Intro\n\n```bash\nmake demo\n```\n\n- item\n\n    ```python\n    x = 1\n    ```\n'
    text += '\n```yaml\na: 1\n```\n````markdown\n```bash\nnot a block\n```\n````\n'
    blocks = page(tmp_path, text)
    assert [(b.id, b.kind, b.body) for b in blocks] == [
        ('page.md:3', 'commands', 'make demo'),
        ('page.md:9', 'python', 'x = 1'),
    ]


def test_a_continuation_joins_and_comments_drop(tmp_path):
    (block,) = page(
        tmp_path,
        '```bash\n# a comment\npython tools/train.py configs/x.py \\\n'
        '    --work-dir w   # trailing comment\nmake demo\n```\n',
    )
    found = commands(block)
    assert [(c.where, c.argv) for c in found] == [
        ('page.md:3', ('python', 'tools/train.py', 'configs/x.py', '--work-dir', 'w')),
        ('page.md:5', ('make', 'demo')),
    ]


@pytest.mark.parametrize(
    'line, message',
    [
        ('echo hello', 'page.md:4: `echo hello` is neither a checked command'),
        ('tools/dist_train.sh c.py 8', 'mark the block `# needs: <what>`'),
        ('python tools/a.py | tee log', "uses ['|']"),
        ("python tools/a.py 'unclosed", 'cannot be split'),
        ('cd work_dirs', '`cd` only follows `git clone`'),
        ('python tools/a.py \\', 'ends inside a `\\` continuation'),
    ],
)
def test_an_unmarked_line_that_is_not_a_checked_command_fails(tmp_path, line, message):
    (block,) = page(tmp_path, f'text\n\n```bash\n{line}\n```\n')
    with pytest.raises(SnippetError, match='page.md:4') as error:
        commands(block)
    assert message in str(error.value)


def test_needs_marks_a_block_and_must_name_something(tmp_path):
    marked, empty = page(tmp_path, '```sh\n# needs: a GPU\nnvidia-smi\n```\n```sh\n# needs:\n```\n')
    assert marked.needs == 'a GPU'
    with pytest.raises(SnippetError, match='page.md:6: `# needs:` names nothing'):
        empty.needs  # noqa: B018


def test_an_unclosed_fence_fails(tmp_path):
    with pytest.raises(SnippetError, match='page.md:2: fence ``` never closed'):
        page(tmp_path, 'a\n```bash\nmake demo\n')


def test_a_failing_command_fails_naming_its_line(tmp_path, bare):
    (block,) = page(tmp_path, '```bash\nls tools\npython tools/no_such_tool.py --x\n```\n')
    with pytest.raises(AssertionError, match=r'page.md:3: `python tools/no_such_tool.py --x`'):
        run_block(block, bare)


def test_a_failing_python_block_fails_naming_its_line(tmp_path, bare):
    (block,) = page(tmp_path, 'a\n```python\nimport os\nraise SystemExit(3)\n```\n')
    with pytest.raises(AssertionError, match=r'page.md:2 \(line N of snippet_2.py') as error:
        run_python(block, bare)
    assert 'exited with 3' in str(error.value)


def test_export_reaches_the_next_commands(tmp_path, bare):
    exported = {}
    run_command(Command('here', ('export', 'MAE_DOC=a=b', 'OTHER=1')), bare, exported)
    assert exported == {'MAE_DOC': 'a=b', 'OTHER': '1'}
    assert environment(exported)['MAE_DOC'] == 'a=b'
    (block,) = page(tmp_path, '```bash\nexport X=1\nmake no-such-target\n```\n')
    with pytest.raises(AssertionError, match="the Makefile has no target 'no-such-target'"):
        run_block(block, bare)


def test_make_targets_expand_or_are_checked_only(bare):
    assert expand_make('demo', bare, 'here') == [
        '.venv/bin/python tools/prepare_demo_data.py data/demo',
        '.venv/bin/python tools/train.py configs/mae_vit-t_demo.py '
        '--work-dir work_dirs/mae_vit-t_demo',
        '.venv/bin/python tools/demo_summary.py work_dirs/mae_vit-t_demo',
    ]
    assert {'test', 'lint', 'docs', 'install'} <= set(subs.MAKE_NOT_RUN)


def test_pip_installs_only_this_project_with_existing_extras():
    check_install(['pip', 'install', '-e', '.[lightning,tests]'], 'here')
    with pytest.raises(AssertionError, match="pyproject.toml has no extra 'nope'"):
        check_install(['pip', 'install', '.[nope]'], 'here')
    with pytest.raises(AssertionError, match='only installs of this project'):
        check_install(['pip', 'install', 'requests'], 'here')


def test_train_substitution_shrinks_only_what_the_config_has():
    args = subs.script_arguments('tools/train.py', ['configs/mae_vit-t_demo.py'], ROOT)
    assert args[:2] == ['configs/mae_vit-t_demo.py', '--cfg-options']
    options = dict(a.split('=') for a in args[2:])
    assert options['train_cfg.max_iters'] == '2' and options['train_dataloader.batch_size'] == '4'
    assert options['default_hooks.logger.interval'] == '1'
    assert options['default_hooks.knn.interval'] == '2'
    assert 'val_dataloader.num_workers' not in options  # the demo config has no validation


def test_more_processes_than_a_cpu_machine_runs_fail():
    with pytest.raises(AssertionError, match="page.md:1: '8' processes, more than 2"):
        subs.torchrun(['torchrun', '--nproc_per_node=8', 'tools/x.py'], ROOT, 'page.md:1')
    argv = subs.torchrun(['torchrun', '--nproc_per_node', '2', 'tools/x.py', '--a'], ROOT, 'p')
    assert argv[:3] == ['torchrun', '--nproc_per_node', '2'] and argv[-2:] == ['tools/x.py', '--a']
    assert argv[3].startswith('--master_port=')


def test_a_block_whose_commands_start_another_is_covered(tmp_path):
    blocks = page(tmp_path, '```bash\nmake demo\n```\n```bash\nmake demo\nmake test\n```\n')
    assert covered_by(blocks) == {'page.md:1': 'page.md:4'}


def test_a_shrunk_run_leaves_the_checkpoint_name_of_the_full_run(bare):
    work = os.path.join(bare, 'work_dirs', 'mae_vit-t_demo')
    os.makedirs(work)
    subs.link_full_run_checkpoint('tools/train.py', ['configs/mae_vit-t_demo.py'], bare)
    assert not os.path.lexists(os.path.join(work, 'iter_500.pth'))  # nothing to link
    open(os.path.join(work, 'iter_2.pth'), 'w').close()
    subs.link_full_run_checkpoint('tools/train.py', ['configs/mae_vit-t_demo.py'], bare)
    assert os.readlink(os.path.join(work, 'iter_500.pth')) == 'iter_2.pth'
    args = [
        'configs/mae_vit-t_demo.py',
        '--work-dir',
        'w',
        '--cfg-options',
        'train_cfg.max_iters=7',
    ]
    os.makedirs(os.path.join(bare, 'w'))
    open(os.path.join(bare, 'w', 'iter_2.pth'), 'w').close()
    subs.link_full_run_checkpoint('tools/train.py', args, bare)
    assert sorted(os.listdir(os.path.join(bare, 'w'))) == ['iter_2.pth', 'iter_7.pth']


def test_transfer_blocks_skip_naming_the_install_where_mmcv_is_missing(tmp_path, monkeypatch):
    det, seg, demo = page(
        tmp_path,
        '```bash\nmake demo-det\n```\n```python\nimport mae_plugin.seg\n```\n'
        '```bash\nmake demo\n```\n',
    )
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, 'find_spec', lambda name: None if name == 'mmcv' else real(name)
    )
    for block in (det, seg):
        with pytest.raises(pytest.skip.Exception, match='needs mmcv: `make install-transfer`'):
            skip_unless_runnable(block)
    skip_unless_runnable(demo)  # no skip


@pytest.mark.parametrize(
    'line, message',
    [
        ('make no-such-target', "the Makefile has no target 'no-such-target'"),
        ("pip install -e '.[nope]'", "pyproject.toml has no extra 'nope'"),
        ('torchrun --nproc_per_node=4 tools/train.py c.py', "'4' processes, more than 2"),
        ('bash tools/dist_train.sh c.py 8', "'8' processes, more than 2"),
    ],
)
def test_what_needs_no_run_is_checked_without_running(tmp_path, line, message):
    (command,) = commands(page(tmp_path, f'```bash\n{line}\n```\n')[0])
    with pytest.raises(AssertionError, match=message):
        check(command)
