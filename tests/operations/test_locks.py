"""The run lock within one process: one holder per connection, renewed while held, never blocked by the dead."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from worker.operate.locks import HeldLock, LockHeld, acquire_run_lock, lock_key
from worker.store import RunLock, make_engine, migrate, session_scope

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_lock_key_is_fixed_across_processes_and_distinct() -> None:
    """The key is a fixed 64-bit hash of the namespace and connection, not Python's salted hash()."""
    assert lock_key("public", "acme") == 1426860042879020656
    keys = {lock_key(namespace, name) for namespace in ("public", "t_1") for name in ("acme", "globex")}
    assert len(keys) == 4 and all(-(2**63) <= k < 2**63 for k in keys)


def test_a_second_holder_is_refused_until_the_first_releases(engine: Engine) -> None:
    """While one worker holds a connection, another is refused; other connections stay free."""
    with acquire_run_lock(engine, "acme", holder="w1"):
        with pytest.raises(LockHeld) as refused, acquire_run_lock(engine, "acme", holder="w2"):
            pass
        with acquire_run_lock(engine, "globex", holder="w2") as other:
            assert other.connection == "globex"
    assert refused.value.connection == "acme"
    assert refused.value.holder == ("w1" if engine.dialect.name == "sqlite" else "another PostgreSQL session")
    with acquire_run_lock(engine, "acme", holder="w2") as again:
        assert again.holder == "w2"


def test_a_row_left_by_a_dead_worker_does_not_block(engine: Engine) -> None:
    """An expired lease row (a worker that crashed) is taken over."""
    with session_scope(engine) as session:
        session.add(RunLock(connection="acme", holder="dead-host:1:x", lease_until=datetime.now(UTC)
                            - timedelta(seconds=1)))
    with acquire_run_lock(engine, "acme", holder="w2") as held:
        assert held.holder == "w2"


def test_the_heartbeat_keeps_a_lock_held_past_its_lease(engine: Engine) -> None:
    """A run longer than the lease keeps its lock: the heartbeat renews it."""
    with acquire_run_lock(engine, "acme", lease=timedelta(seconds=0.3)) as held:
        time.sleep(0.9)
        with pytest.raises(LockHeld), acquire_run_lock(engine, "acme", lease=timedelta(seconds=0.3)):
            pass
        assert not held.lost.is_set()


def _take_over(engine: Engine, held: HeldLock) -> None:
    """Another worker takes the lease (SQLite), or the holder's database session dies (PostgreSQL)."""
    with engine.begin() as db:
        if engine.dialect.name == "sqlite":
            db.execute(text("UPDATE run_lock SET holder = 'thief' WHERE connection = :c"), {"c": held.connection})
            return
        key = lock_key(db.execute(text("SELECT current_schema()")).scalar_one(), held.connection)
        killed = db.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = :high AND objid = :low AND objsubid = 1"),
            {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF}).scalars().all()
        assert killed == [True]


def test_a_lost_lock_is_reported(engine: Engine) -> None:
    """When the lock is lost mid-run, ``lost`` is set so the run can stop at its next step."""
    with acquire_run_lock(engine, "acme", lease=timedelta(seconds=0.3)) as held:
        _take_over(engine, held)
        assert held.lost.wait(timeout=3)


def test_a_live_lease_blocks_until_it_expires_and_release_spares_the_successor(tmp_path: Path) -> None:
    """SQLite leases: refused while valid, taken once expired; the late holder's release leaves the new row."""
    engine = make_engine(f"sqlite:///{tmp_path}/store.db")
    migrate(engine)
    minute = timedelta(minutes=1)
    first = acquire_run_lock(engine, "acme", holder="w1", lease=minute, clock=lambda: T0)
    first.__enter__()
    with pytest.raises(LockHeld), acquire_run_lock(engine, "acme", holder="w2", lease=minute,
                                                   clock=lambda: T0 + timedelta(seconds=30)):
        pass
    second = acquire_run_lock(engine, "acme", holder="w2", lease=minute, clock=lambda: T0 + timedelta(seconds=61))
    second.__enter__()
    first.__exit__(None, None, None)
    with session_scope(engine) as session:
        row = session.get(RunLock, "acme")
        assert row is not None and row.holder == "w2"
    second.__exit__(None, None, None)
    with session_scope(engine) as session:
        assert session.get(RunLock, "acme") is None
    engine.dispose()
