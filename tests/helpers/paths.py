"""Paths of the checkout the tests run: the root, the demo configs, the training tools."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = os.path.join(ROOT, 'configs')
DEMO = os.path.join(CONFIGS, 'mae_vit-t_demo.py')
DEMO_FSDP = os.path.join(CONFIGS, 'mae_vit-t_demo_fsdp.py')
LIGHTNING = os.path.join(CONFIGS, 'lightning')
TRAIN = os.path.join(ROOT, 'tools', 'train.py')
TRAIN_LIGHTNING = os.path.join(ROOT, 'tools', 'train_lightning.py')
