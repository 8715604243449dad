"""Train-step benchmark of the plugin's MAE against its peers (used by tools/benchmark.py)."""
