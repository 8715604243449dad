"""The bottom of the checkpoint read path: files to plain dicts, nothing in them run.

``read.py`` picks the reader by what the path is: a Hugging Face folder (``hf_folder.py``), a
``.safetensors`` file (``safetensors_file.py``) or a torch file read with ``weights_only=True``
(``torch_file.py``). None of them knows a checkpoint format; detection comes next
(``checkpoints/detect.py``).
"""
