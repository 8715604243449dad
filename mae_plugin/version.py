"""The package's version.

A plain literal: pyproject.toml's ``[tool.setuptools.dynamic]`` reads it from this file's text
(no import).
"""

__version__ = '0.1.0'
