"""MAEShardStream under MMEngine: labelled shards stream through the registered dataset, and a
resume with another layout is refused."""

import os

import pytest

from mae_plugin.data.pack import pack_folder
from mae_plugin.data.shards import ShardStream
from tests.helpers.shards import class_folder, options, train


def test_resume_with_another_layout_is_refused(tmp_path, demo_root, shard_root):
    work = str(tmp_path / 'run')
    train(work, options(demo_root, shard_root, 2, 2))
    with pytest.raises(ValueError, match=r"only with the layout.*'workers': 2.*'workers': 1"):
        train(
            str(tmp_path / 'again'),
            options(demo_root, shard_root, 2, 2, workers=1),
            resume=os.path.join(work, 'iter_2.pth'),
        )


@pytest.fixture
def folder(tmp_path):
    """7 images in classes 'cat' (4) and 'dog' (3), and an empty class 'eel'."""
    return class_folder(tmp_path)


def test_labelled_shards_stream_through_the_registered_dataset(folder, tmp_path):
    """MAEShardStream built from a config: the folder pipeline, labels from .cls, class names
    from classes.txt."""
    from mae_plugin.engine.registry import DATASETS

    out = str(tmp_path / 'shards')
    pack_folder(str(folder), out, shard_size=3)
    stream = DATASETS.build(
        dict(
            type='MAEShardStream',
            data_root=out,
            shards='shard-{000000..000002}.tar',
            classes='classes.txt',
            pipeline=[
                dict(type='MAELoadImage'),
                dict(type='MAERandomResizedCrop', size=32),
                dict(type='MAEPackInputs'),
            ],
        )
    )
    assert stream.metainfo['classes'] == ('cat', 'dog', 'eel') and len(stream) == 7
    rows = [line.rstrip('\n').split('\t') for line in open(os.path.join(out, 'manifest.tsv'))]
    label_of = {key: int(label) for _, key, _, label in rows[1:]}
    # the same stream, names only: the same order (seed 0, epoch 0)
    names = ShardStream('shard-*.tar', lambda s: s['img_name'], out, epochs=1)
    labels = [(int(s['data_samples']['label']), n) for s, n in zip(stream, names, strict=False)]
    assert len(labels) == 7
    for label, name in labels:
        assert label == label_of[name.rsplit(':', 1)[1].split('.')[0]]
    assert sorted(stream.get_data_info(i)['gt_label'] for i in range(7)) == [0, 0, 0, 0, 1, 1, 1]
