"""``ShardStream`` on the demo photographs packed into 5 shards: 2 ranks x 2 loader workers see
every image once per epoch, in an order fixed by (seed, epoch); a resumed stream continues
without repeats; bad patterns, too few shards, truncated tars and bad members."""

import os

import pytest
import torch
from torch.utils.data import DataLoader

from mae_plugin.data.pack import pack_folder
from mae_plugin.data.shards import ShardStream, epoch_order, expand_shards
from mae_plugin.data.transforms import MAELoadImage, MAEPackInputs, MAERandomResizedCrop
from tests.helpers.data import jpeg, write_tar


@pytest.fixture(scope='module')
def shards(demo_root, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('shards'))
    report = pack_folder(os.path.join(demo_root, 'train'), out, shard_size=4)
    assert len(report.shards) == 5 and report.images == 20
    return out


def name_only(sample):
    return dict(name=sample['img_name'].rsplit(':', 1)[1])


def stream_rows(root, ranks=2, workers=2, epochs=2, **kw):
    """Every sample of every rank: (name, reader, epoch, k, pos), in loader order per rank."""
    rows = []
    for rank in range(ranks):
        stream = ShardStream(
            '*.tar', name_only, root, rank=rank, world_size=ranks, epochs=epochs, **kw
        )
        for batch in DataLoader(stream, batch_size=3, num_workers=workers):
            rows += [(n, *s) for n, s in zip(batch['name'], batch['stream'].tolist(), strict=True)]
    return rows


def test_two_ranks_two_workers_see_every_image_once_per_epoch(shards):
    rows = stream_rows(shards)
    keys = {line.split('\t')[1] + '.jpg' for line in open(os.path.join(shards, 'manifest.tsv'))}
    keys.discard('key.jpg')
    for epoch in (0, 1):
        names = [row[0] for row in rows if row[2] == epoch]
        assert sorted(names) == sorted(keys)  # all 20, each once
    # the readers hold disjoint shards within an epoch
    for epoch in (0, 1):
        shard_of = {}
        for name, reader, e, _, _ in rows:
            if e == epoch:
                shard_of.setdefault(reader, set()).add(int(name[:9]) // 4)
        assert len(shard_of) == 4 and sum(map(len, shard_of.values())) == 5


def test_order_is_fixed_by_seed_and_epoch(shards):
    first, again = stream_rows(shards), stream_rows(shards)
    assert first == again
    order = [[row[0] for row in first if row[2] == e] for e in (0, 1)]
    assert order[0] != order[1]
    other = stream_rows(shards, seed=1)
    assert [row[0] for row in other] != [row[0] for row in first]


def test_resumed_stream_continues_without_repeats(shards):
    whole = stream_rows(shards, ranks=1, workers=2, epochs=1)
    stop = 7  # mid-epoch: 3 batches of worker 0, 2 of worker 1 (batch 3), a shard half read
    consumed = whole[:stop]
    last = {}
    for _, reader, epoch, k, pos in consumed:
        last[reader] = (epoch, k, pos)
    stream = ShardStream('*.tar', name_only, shards, epochs=1)
    stream.resume_from(last, batches=3)
    rest = []
    for batch in DataLoader(stream, batch_size=3, num_workers=2):
        rest += [(n, *s) for n, s in zip(batch['name'], batch['stream'].tolist(), strict=True)]
    names = [row[0] for row in consumed + rest]
    assert len(names) == 20 and len(set(names)) == 20
    assert sorted(rest) == sorted(whole[stop:])


def test_samples_go_through_the_folder_pipeline(shards):
    pipeline = [MAELoadImage(), MAERandomResizedCrop(32), MAEPackInputs()]

    def transform(sample):
        for t in pipeline:
            sample = t(sample)
        return sample

    batch = next(iter(DataLoader(ShardStream('*.tar', transform, shards), batch_size=4)))
    assert batch['inputs'].shape == (4, 3, 32, 32) and batch['inputs'].dtype == torch.uint8
    assert batch['data_samples']['label'].tolist() == [-1] * 4  # no class folders
    assert batch['data_samples']['num_skipped'].tolist() == [0] * 4


def test_bad_patterns_and_too_few_shards_are_errors(shards, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"pattern 'nothing-\*.tar' matches no file"):
        ShardStream('nothing-*.tar', root=shards)
    with pytest.raises(
        FileNotFoundError, match=r"shard-000005.tar' \(from pattern .*\) is not a file"
    ):
        expand_shards('shard-{000003..000005}.tar', shards)
    assert len(expand_shards(['shard-{000000..000001}.tar', 'shard-00000[34].tar'], shards)) == 4
    stream = ShardStream('*.tar', name_only, shards, rank=0, world_size=3)
    with pytest.raises(ValueError, match=r'5 shards for 6 readers'):
        next(iter(DataLoader(stream, num_workers=2)))


def test_truncated_tar_and_bad_members_are_skipped_and_counted(tmp_path):
    good = [(f'{i}.jpg', jpeg((10 * i, 0, 0))) for i in range(4)]
    # a.tar: an undecodable image and a label that is not a number, then two good images
    write_tar(
        tmp_path / 'a.tar',
        [('bad.jpg', b'not a jpeg'), ('2x.jpg', jpeg('red'))] + [('2x.cls', b'seven')] + good[:2],
    )
    # b.tar: two good images, then cut inside its last member
    write_tar(tmp_path / 'b.tar', good[2:] + [('big.jpg', os.urandom(20000))])
    data = (tmp_path / 'b.tar').read_bytes()
    (tmp_path / 'b.tar').write_bytes(data[: len(data) - 10000])

    def load(sample):
        return dict(name=sample['img_name'], img=MAELoadImage()(sample)['img'])

    # epoch 0 reads a then b, epoch 1 b then a (seed 0); b's damage is known by the time its
    # last good sample is complete (the next member header starts it) and counted there
    assert [epoch_order(2, 0, e) for e in (0, 1)] == [[0, 1], [1, 0]]
    seen, skipped = [], []
    for sample in ShardStream('*.tar', load, str(tmp_path), epochs=2, buffer=1):
        seen.append(sample['name'].rsplit(':', 1)[1])
        skipped.append(sample['num_skipped'])
    assert seen == ['0.jpg', '1.jpg', '2.jpg', '3.jpg', '2.jpg', '3.jpg', '0.jpg', '1.jpg']
    # 2 bad members of a; b's damage once per epoch (its reader raises twice for one cut)
    assert skipped == [2, 0, 0, 1, 0, 1, 2, 0]
    with pytest.raises(OSError, match=r'cannot read image .*a.tar:bad.jpg'):
        list(ShardStream('*.tar', load, str(tmp_path), epochs=1, buffer=1, on_corrupt='error'))
