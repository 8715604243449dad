"""Pretrain MAE with PyTorch Lightning (LightningCLI conventions).

    python tools/train_lightning.py fit --config configs/lightning/mae_vit-b_800e.yaml \
        [--data.data_root /data/imagenet] [--trainer.devices 8 --trainer.strategy ddp] \
        [--trainer.precision bf16-mixed] [--ckpt_path last]
    python tools/train_lightning.py fit --config configs/lightning/mae_vit-t_demo.yaml
    python tools/train_lightning.py fit --help
"""

import gc

from mae_plugin.lightning.cli import main

if __name__ == '__main__':
    main()
    gc.freeze()  # the interpreter's shutdown then skips a last collection of ~1.4 s
