"""``corrupt_images`` counts distinct unreadable files, not reads: in tar shards, damaged members
and a damaged shard are named once."""

import os

from mae_plugin.data.shards import ShardStream
from mae_plugin.data.transforms import MAELoadImage
from mae_plugin.data.unreadable import UnreadableFiles, batch_names
from tests.helpers.data import jpeg, write_tar


def test_shard_members_and_a_damaged_shard_are_named_once(tmp_path):
    good = [(f'{i}.jpg', jpeg((10 * i, 0, 0))) for i in range(4)]
    write_tar(
        tmp_path / 'a.tar',
        [('bad.jpg', b'not a jpeg'), ('2x.jpg', jpeg('red')), ('2x.cls', b'seven')] + good[:2],
    )
    write_tar(tmp_path / 'b.tar', good[2:] + [('big.jpg', os.urandom(20000))])
    data = (tmp_path / 'b.tar').read_bytes()
    (tmp_path / 'b.tar').write_bytes(data[: len(data) - 10000])

    def load(sample):
        return dict(img=MAELoadImage()(sample)['img'])

    files = UnreadableFiles()
    reads = 0
    for sample in ShardStream('*.tar', load, str(tmp_path), epochs=3, buffer=1):
        files.add(sample['skipped_files'])
        reads += sample['num_skipped']
    files.sync()
    a, b = str(tmp_path / 'a.tar'), str(tmp_path / 'b.tar')
    assert files.state() == sorted([f'{a}:2x', f'{a}:bad.jpg', b])
    assert reads == 9  # three epochs met each of them
    assert batch_names(['', f'{a}:2x\0{b}', b]) == {f'{a}:2x', b}
