# The demo (configs/mae_vit-t_demo.py) streaming its photographs from tar shards instead of the
# image folder: write them first with
#   python tools/pack_shards.py data/demo/train data/demo/shards --shard-size 4
# 20 photographs, 4 a shard: 5 shards, enough for 2 ranks x 2 loader workers (every reader needs
# a shard; 4 readers share 5, so one reads two a epoch). Same model, recipe and pipeline.
_base_ = 'mae_vit-t_demo.py'

train_dataloader = dict(
    # the stream splits shards over ranks and workers itself: no sampler; an endless stream never
    # restarts its workers, and a resumed one needs fresh ones (ShardStreamTrainLoop)
    sampler=None,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type='MAEShardStream',
        data_root='data/demo/shards',
        shards='shard-*.tar',
        seed=0,
        buffer=1000,
        pipeline=_base_.train_dataloader.dataset.pipeline,
    ),
)
train_cfg = dict(type='ShardStreamTrainLoop')
# where every reader stands goes into each checkpoint; a resumed run goes on from there
custom_hooks = [dict(type='ShardStreamStateHook')]
