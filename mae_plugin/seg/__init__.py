"""mmsegmentation transfer: the MAE backbone, the checked ADE20K dataset, the label-map check.

``custom_imports=dict(imports=['mae_plugin.seg'])`` registers them in the scope
``mae_plugin``; from mmseg configs write ``type='mae_plugin.MAESegViT'``.
"""

try:
    import mmseg  # noqa: F401
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        'mae_plugin.seg needs mmsegmentation and mmcv with its ops: run `make '
        "install-transfer` (builds mmcv, then pip install -e '.[seg]')"
    ) from err

from . import backbone, dataset  # noqa: F401,E402
