"""The paper's claims at small scale (``tools/reproduce.py``, docs/reproduction.md).

``plan`` lists the runs (configs and ``--cfg-options`` of the product's own tools), ``execute``
runs them resumably and reads their numbers back, ``report`` writes the page's tables and
figures from ``results.json``. Measurement beside the package, not in it: nothing in
``mae_plugin`` imports this.
"""
