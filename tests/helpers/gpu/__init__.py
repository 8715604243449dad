"""Builders and comparisons of the GPU checks (tests/gpu/, ``make gpu-check``)."""
