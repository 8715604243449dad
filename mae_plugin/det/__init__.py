"""mmdet transfer: ViTDet backbone, simple feature pyramid, channel LayerNorm, checked COCO.

``custom_imports=dict(imports=['mae_plugin.det'])`` registers them in the scope ``mae_plugin``;
from mmdet configs write ``type='mae_plugin.MAEViTDet'``.
"""

try:
    import mmdet  # noqa: F401
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        'mae_plugin.det needs mmdet and mmcv with its ops: run `make '
        "install-transfer` (builds mmcv, then pip install -e '.[det]')"
    ) from err

from . import backbone, dataset  # noqa: F401,E402
