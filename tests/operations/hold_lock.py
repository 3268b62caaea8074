"""A child process for the lock tests: take a connection's run lock at a given time, hold it until stdin closes.

Usage: ``python -m tests.operations.hold_lock URL CONNECTION START_AT LEASE_SECONDS``.
Prints ``acquired`` (then ``released`` once stdin closes) or ``held``.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta

from worker.logs import configure_logging
from worker.operate.locks import LockHeld, acquire_run_lock
from worker.store import make_engine


def main(url: str, connection: str, start_at: float, lease: float) -> None:
    """Wait until ``start_at`` (epoch seconds), then try the lock once."""
    configure_logging("json", stream=sys.stderr)
    engine = make_engine(url)
    time.sleep(max(0.0, start_at - time.time()))
    try:
        with acquire_run_lock(engine, connection, lease=timedelta(seconds=lease)):
            print("acquired", flush=True)
            sys.stdin.read()
        print("released", flush=True)
    except LockHeld:
        print("held", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
