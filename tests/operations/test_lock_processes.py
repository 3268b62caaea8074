"""The run lock across processes: two workers never run one connection at once, a killed one blocks nobody."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, func, select

from tests.operations.conftest import ICP, spawn, write_config
from worker.operate.locks import LockHeld, acquire_run_lock
from worker.store import Run, make_engine, migrate, session_scope


def _migrated(url: str) -> Engine:
    engine = make_engine(url)
    migrate(engine)
    return engine


def _holder(url: str, start_at: float, lease: float = 60.0) -> subprocess.Popen[str]:
    return spawn([sys.executable, "-m", "tests.operations.hold_lock", url, "acme", str(start_at), str(lease)])


def _first_line(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None
    return child.stdout.readline().strip()


def test_two_processes_racing_for_a_connection_get_it_once(store_url: str) -> None:
    """Two processes try the same connection at the same instant: exactly one gets it."""
    _migrated(store_url).dispose()
    start_at = time.time() + 2.0
    children = [_holder(store_url, start_at) for _ in range(2)]
    first_words = sorted(_first_line(child) for child in children)
    outputs = [child.communicate(timeout=20)[0] for child in children]
    assert first_words == ["acquired", "held"], outputs
    assert all(child.returncode == 0 for child in children)


def test_a_killed_holder_does_not_block_the_next_run(store_url: str) -> None:
    """SIGKILL while holding a long lease: the PostgreSQL session ends; on SQLite the holder's process is
    gone, so its row is taken over at once, without waiting for the lease to run out."""
    engine = _migrated(store_url)
    child = _holder(store_url, 0.0, lease=300.0)
    assert _first_line(child) == "acquired"
    child.kill()
    child.communicate(timeout=10)
    if engine.dialect.name == "sqlite":
        with acquire_run_lock(engine, "acme") as taken:
            assert taken.connection == "acme"
    deadline = time.monotonic() + 6
    while True:
        try:
            with acquire_run_lock(engine, "acme") as held:
                assert held.connection == "acme"
            break
        except LockHeld:
            assert time.monotonic() < deadline, "the dead worker's lock never freed"
            time.sleep(0.1)
    engine.dispose()


def test_two_icp_runs_at_once_run_the_connection_once(store_url: str, slow_crm_401: str, tmp_path: Path) -> None:
    """`icp run --once` twice at once: one runs (and fails on the refusing CRM), the other skips, exit 0."""
    engine = _migrated(store_url)
    config = write_config(tmp_path / "icp.toml", {"acme": 'cron = "0 2 * * *"'}, base_url=slow_crm_401)
    runs = [spawn([ICP, "--config", str(config), "run", "--once", "--json"], ICP_DATABASE_URL=store_url,
                  ICP_TEST_TOKEN="test-token-0000") for _ in range(2)]
    results = sorted((json.loads(out)["status"], run.returncode)
                     for run, (out, _err) in ((run, run.communicate(timeout=60)) for run in runs))
    assert results == [("failed", 1), ("skipped", 0)]
    with session_scope(engine) as session:
        assert session.execute(select(func.count()).select_from(Run)).scalar_one() == 1
    engine.dispose()
