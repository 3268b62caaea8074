"""The ``icp`` command line: a thin layer over the worker's library calls."""

from worker.cli.app import app, main

__all__ = ["app", "main"]
