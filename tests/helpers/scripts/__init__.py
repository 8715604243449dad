"""Hooks, callbacks and probes that test runs import by name: MMEngine configs through
``custom_imports`` (``tests.helpers.scripts.fsdp_probe``), Lightning runs through
``class_path`` (``tests.helpers.scripts.lightning_probes.StepRecorder``); on every rank of a
torchrun launch, so they hold no test and import no test module."""
