"""Operate: the nightly cycle, the scheduler, run locks, health checks and the demo."""
