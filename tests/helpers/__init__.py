"""What the tests share: paths, subprocess and in-process runs, the tiny MAE, run builders,
checkpoint and data helpers (one module each); ``scripts/`` holds the hooks, callbacks and
probes that runs import by name (``custom_imports``, ``class_path``)."""
