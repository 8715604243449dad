"""Speed and memory measurements of mae_plugin, one module per mode of ``tools/benchmark.py``.

Not part of the package (the wheel holds ``mae_plugin`` only): measurement lives beside the
product, in the checkout. The tools that use it (``tools/benchmark.py``, ``tools/gpu_check.py``,
``tools/memory_on_paper.py``) append the checkout to ``sys.path``; the tests find it there too.
"""
