"""A PostgreSQL run lock whose holder was killed while its session was busy is taken over at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from worker.operate.locks import TAKEOVER_WAIT, acquire_run_lock
from worker.store import make_engine
from worker.store.scratch import scratch_schema

ROOT = Path(__file__).resolve().parents[2]
BUSY_HOLDER = """
import sys
from sqlalchemy import text
from worker.operate.locks import _AdvisoryLock
from worker.store import make_engine
lock = _AdvisoryLock(make_engine(sys.argv[1]), "acme")
assert lock.acquire() is None
print("acquired", flush=True)
lock._db.execute(text("SELECT pg_sleep(120)"))  # the session is busy: it will not notice its client die
"""


def test_a_killed_holder_with_a_busy_session_is_taken_over_at_once(pg_url: str) -> None:
    """SIGKILL while the lock's session runs a statement: the server would free the lock only once the statement
    ends; the next worker sees the holder's process is gone, ends its session and runs, instead of skipping."""
    with scratch_schema(pg_url, "locktakeover") as url:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        child = subprocess.Popen([sys.executable, "-c", BUSY_HOLDER, url], cwd=ROOT, env=env, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert child.stdout is not None and child.stdout.readline().strip() == "acquired"
        time.sleep(0.3)  # the pg_sleep is under way
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        engine = make_engine(url)
        started = time.monotonic()
        try:
            with acquire_run_lock(engine, "acme") as held:
                assert held.connection == "acme"
        finally:
            engine.dispose()
        assert time.monotonic() - started < TAKEOVER_WAIT
