"""mae_plugin: Masked Autoencoders (He et al. 2021) as a plugin of the OpenMMLab stack."""

import os

from setuptools import find_packages, setup

here = os.path.dirname(os.path.abspath(__file__))
version = {}
with open(os.path.join(here, 'mae_plugin', 'version.py')) as f:
    exec(f.read(), version)

setup(
    name='mae_plugin',
    version=version['__version__'],
    description='Masked Autoencoders (MAE) pretraining and transfer on MMEngine',
    long_description=open(os.path.join(here, 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mae_plugin', 'mae_plugin.*']),
    python_requires='>=3.10',
    install_requires=[
        # weights_only loading by default; tested with 2.14.1 (requirements/torch.txt)
        'torch>=2.6',
        'torchvision',
        'timm>=1.0.15,<2',  # VisionTransformer/Block with fused SDPA attention, checkpoint_seq
        'lightly>=1.6,<2',  # gather/scatter, patchify, sin-cos table, block masks
        # The runner shims (CPU DDP, CPU AMP, weights_only resume) target 0.10.7's internals.
        'mmengine==0.10.7',
        'numpy',
        'pillow',
        'safetensors>=0.4',  # .safetensors checkpoints and Hugging Face folders (read code-free)
        'matplotlib',  # tools/analyze_logs.py plot_curve (mae_plugin.analysis)
        'webdataset>=1.0,<2',  # tar shards (mae_plugin.data.shards); tested with 1.0.2
    ],
    extras_require={
        # the demo photographs ship inside scikit-image, the handwritten digits inside scikit-learn
        'demo': ['scikit-image>=0.22', 'scikit-learn>=1.3'],
        # the Hugging Face and TensorBoard tests compare with the libraries themselves
        'tests': [
            'pytest>=8',
            'scikit-image>=0.22',
            'scikit-learn>=1.3',
            'transformers>=4.40',
            'tensorboard',
            'pytorch-lightning>=2.6,<3',
            'jsonargparse[signatures]>=4.39',
        ],
        # mae_plugin.lightning and tools/train_lightning.py (LightningCLI needs jsonargparse);
        # lightly already pulls in pytorch-lightning; tested with 2.6.6 and jsonargparse 4.53
        'lightning': ['pytorch-lightning>=2.6,<3', 'jsonargparse[signatures]>=4.39'],
        'hf': ['transformers>=4.40'],  # ViTMAE folders load there (4.40 and 5.x checked)
        'tensorboard': ['tensorboard'],  # visualizer.vis_backends=[TensorboardVisBackend]
        'benchmark': ['transformers>=4.40'],  # ViTMAEForPreTraining as a speed peer
        'lint': ['ruff==0.17.6'],  # rules and formatter style in pyproject.toml; `make lint`
        # mmseg 1.2.2 / mmdet 3.3.0 assert mmcv < 2.2; mmcv 2.1.0 is built by
        # requirements/build_mmcv.sh. mmengine resolves 'mmseg::' / 'mmdet::' configs with
        # pkg_resources: setuptools < 81 (torch needs >= 77).
        'seg': ['mmcv==2.1.0', 'mmsegmentation==1.2.2', 'ftfy', 'regex', 'setuptools>=77.0.3,<81'],
        'det': ['mmcv==2.1.0', 'mmdet==3.3.0', 'pycocotools', 'setuptools>=77.0.3,<81'],
    },
)
