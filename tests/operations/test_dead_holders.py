"""Dead holders and dead runs: a killed worker's lock is taken over at once, its run row is closed, and
``icp healthcheck`` says when a lock is held by a worker that is not alive or a cycle went wrong quietly."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from connectors.errors import RetriableError
from connectors.http import Retrier, RetryPolicy
from tests.operations.conftest import FakeConnector, context_for, settings_for
from worker.operate.health import check_health
from worker.operate.locks import DEFAULT_LEASE, acquire_run_lock, holder_alive, lock_state
from worker.operate.scheduler import SKIPPED, run_locked_cycle
from worker.store import Run, RunLock, make_engine, migrate, session_scope

NIGHTLY = {"acme": 'cron = "0 2 * * *"\nmisfire_grace_seconds = 3600'}
HOST = socket.gethostname()[:80]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    return engine


def _lock_row(engine: Engine, holder: str, lease_until: datetime) -> None:
    with session_scope(engine) as session:
        session.add(RunLock(connection="acme", holder=holder, lease_until=lease_until))


def test_holder_liveness_is_read_from_the_process_table() -> None:
    """This process is alive, a finished one is not; a holder on another machine is unknown."""
    import os
    assert holder_alive(f"{HOST}:{os.getpid()}:x") is True
    assert holder_alive(f"{HOST}:{_dead_pid()}:x") is False
    assert holder_alive("another-host:1:x") is None and holder_alive("w1") is None


def test_a_dead_processes_lease_is_taken_over_at_once(sqlite_engine: Engine) -> None:
    """A lease still valid for minutes, held by a process that is gone: the next run takes it now."""
    _lock_row(sqlite_engine, f"{HOST}:{_dead_pid()}:x", datetime.now(UTC) + timedelta(minutes=5))
    with acquire_run_lock(sqlite_engine, "acme") as held:
        assert held.holder.startswith(f"{HOST}:")


def test_the_lease_is_a_few_seconds_and_kept_by_a_heartbeat(sqlite_engine: Engine) -> None:
    """A live run's lease runs a few seconds ahead; a stopped heartbeat frees the lock within seconds."""
    assert DEFAULT_LEASE <= timedelta(seconds=15)
    with acquire_run_lock(sqlite_engine, "acme"):
        state = lock_state(sqlite_engine, "acme")
        assert state.held and state.alive
        assert not lock_state(sqlite_engine, "acme", datetime.now(UTC) + DEFAULT_LEASE * 2).alive


def test_a_run_after_a_killed_one_runs_instead_of_skipping(tmp_path: Path, sqlite_engine: Engine) -> None:
    """The issue's case: a killed run left its lock; the next run is not skipped and closes the dead run."""
    _lock_row(sqlite_engine, f"{HOST}:{_dead_pid()}:x", datetime.now(UTC) + timedelta(minutes=5))
    with session_scope(sqlite_engine) as session:
        session.add(Run(id="killed", connection="acme", kind="cycle", status="running",
                        started_at=datetime.now(UTC) - timedelta(minutes=3)))
    summary = run_locked_cycle(context_for(tmp_path, sqlite_engine), FakeConnector())
    assert summary.status != SKIPPED
    with session_scope(sqlite_engine) as session:
        killed = session.get(Run, "killed")
        assert killed is not None and killed.status == "failed" and "interrupted" in (killed.error or "")


# -- icp healthcheck ---------------------------------------------------------------------------------

NOW = datetime.now(UTC)


def _cycle(engine: Engine, status: str, summary: dict[str, Any], error: str | None = None,
           hours_ago: float = 1.0) -> None:
    finished = NOW - timedelta(hours=hours_ago)
    with session_scope(engine) as session:
        session.add(Run(id=uuid.uuid4().hex[:16], connection="acme", kind="cycle", status=status,
                        started_at=finished - timedelta(minutes=10), finished_at=finished,
                        summary=summary, error=error))


def _problems(tmp_path: Path, url: str, **options: Any) -> list[str]:
    report = check_health(settings_for(tmp_path, url, NIGHTLY), NOW, **options)
    assert report.store == "ok"
    return report.connections[0].problems


GOOD = {"pulled": {"owners": 5, "accounts": 1000}, "quarantined": {"accounts": 0}, "written": 1000,
        "unchanged": 0, "write_failures": 0, "write_capped": 0, "accounts_in_store": 1000}


def test_a_lock_held_but_not_alive_is_unhealthy(tmp_path: Path, sqlite_engine: Engine) -> None:
    """A lock whose process is gone, or whose heartbeat stopped, makes the connection unhealthy."""
    _cycle(sqlite_engine, "ok", GOOD)
    url = str(sqlite_engine.url)
    assert _problems(tmp_path, url) == []
    _lock_row(sqlite_engine, f"{HOST}:{_dead_pid()}:x", NOW + timedelta(minutes=5))
    problems = _problems(tmp_path, url)
    assert len(problems) == 1 and "not alive (its process is gone)" in problems[0]


def test_a_stopped_heartbeat_is_unhealthy(tmp_path: Path, sqlite_engine: Engine) -> None:
    """A lease row from another machine whose heartbeat stopped."""
    _cycle(sqlite_engine, "ok", GOOD)
    _lock_row(sqlite_engine, "other-host:42:x", NOW - timedelta(seconds=30))
    problems = _problems(tmp_path, str(sqlite_engine.url))
    assert len(problems) == 1 and "heartbeat stopped" in problems[0]


def test_a_live_lock_is_healthy(tmp_path: Path, engine: Engine, store_url: str) -> None:
    """A worker running right now (this process holds the lock) is fine, on either store."""
    _cycle(engine, "ok", GOOD)
    with acquire_run_lock(engine, "acme"):
        assert _problems(tmp_path, store_url) == []


def test_a_run_marked_running_by_a_gone_process_is_unhealthy(tmp_path: Path, engine: Engine,
                                                              store_url: str) -> None:
    """A cycle row still running whose process is gone from this machine."""
    _cycle(engine, "ok", GOOD)
    with session_scope(engine) as session:
        session.add(Run(id="ghost", connection="acme", kind="cycle", status="running", started_at=NOW,
                        summary={"host": HOST, "pid": _dead_pid()}))
    problems = _problems(tmp_path, store_url)
    assert len(problems) == 1 and "ghost is marked running but its process is gone" in problems[0]


def test_partial_above_the_threshold_is_unhealthy(tmp_path: Path, engine: Engine, store_url: str) -> None:
    """2 % failed writes pass the default 5 %; 40 % do not; the threshold is an option."""
    _cycle(engine, "partial", GOOD | {"written": 980, "write_failures": 20}, "20 record(s) failed to write")
    assert _problems(tmp_path, store_url) == []
    assert len(_problems(tmp_path, store_url, max_partial=0.01)) == 1
    _cycle(engine, "partial", GOOD | {"written": 600, "write_failures": 400}, "400 record(s) failed to write",
           hours_ago=0.5)
    problems = _problems(tmp_path, store_url)
    assert len(problems) == 1 and "partial with 40%" in problems[0]


def test_quarantine_counts_toward_the_partial_threshold(tmp_path: Path, engine: Engine, store_url: str) -> None:
    """Half the accounts quarantined on the way in is a broken sync, not a quiet night."""
    _cycle(engine, "partial", GOOD | {"pulled": {"accounts": 500}, "quarantined": {"accounts": 500}},
           "quarantined")
    assert "partial with 50%" in _problems(tmp_path, store_url)[0]


def test_a_first_sync_that_pulled_nothing_is_unhealthy(tmp_path: Path, engine: Engine, store_url: str) -> None:
    """No account in the CRM after the cycle: unhealthy, saying what to check."""
    _cycle(engine, "partial", GOOD | {"pulled": {"accounts": 0}, "accounts_in_store": 0},
           "the CRM returned no accounts")
    problems = _problems(tmp_path, store_url)
    assert any("found no accounts" in p for p in problems)


def test_every_write_failing_is_unhealthy(tmp_path: Path, engine: Engine, store_url: str) -> None:
    """A run whose every write failed is failed, so the health check fails."""
    _cycle(engine, "failed", GOOD | {"written": 0, "write_failures": 242}, "every write failed (242 of 242)")
    assert "every write failed" in _problems(tmp_path, store_url)[0]


# -- Retry-After shorter than the CRM's window ------------------------------------------------------

def test_a_short_retry_after_does_not_spend_every_try_inside_the_rate_window() -> None:
    """HubSpot's burst limit is a rolling 10 s window; a 429 saying Retry-After: 1 must not use up the
    tries in 5 s and fail the run: the waits grow until the window has passed."""
    clock = {"t": 0.0}

    def limited() -> str:
        if clock["t"] < 10.0:
            raise RetriableError("429 TEN_SECONDLY_ROLLING", status=429, retry_after=1.0)
        return "page"

    def sleep(seconds: float) -> None:
        clock["t"] += seconds

    assert Retrier(RetryPolicy(), sleep=sleep).run(limited) == "page"
    assert clock["t"] < 30.0


def test_rate_limited_tries_stay_bounded() -> None:
    """A 429 that never clears still ends, within the total wait."""
    slept: list[float] = []

    def always() -> str:
        raise RetriableError("429", status=429, retry_after=1.0)

    with pytest.raises(RetriableError):
        Retrier(RetryPolicy(), sleep=slept.append).run(always)
    assert sum(slept) <= RetryPolicy().max_total_wait and len(slept) < RetryPolicy().max_rate_limited_tries
