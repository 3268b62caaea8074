"""Benchmarks that print figures (``icp bench ...``); they are not timed tests."""
