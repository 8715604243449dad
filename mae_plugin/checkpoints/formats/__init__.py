"""One module per checkpoint format, each implementing :class:`.contract.CheckpointFormat`.

``plugin`` (this plugin's MMEngine checkpoints), ``lightning`` (its Lightning ``.ckpt``),
``official`` (facebookresearch/mae), ``timm``, ``lightly``, ``mmpretrain`` and ``hf`` (Hugging
Face ViTMAE). Each reads the plain dict a container reader returned into core keys
(``checkpoints/core.py``) and, when writable, writes core keys back in its own layout. The
order they are detected in is ``checkpoints/detect.py``'s.
"""
