"""The run lock: one worker at a time per CRM connection, across processes and machines.

On PostgreSQL the lock is a session-level advisory lock, taken with
``pg_try_advisory_lock`` on a connection held for the whole run; when a worker
crashes its session ends and the server frees the lock. Elsewhere (SQLite) it is
the ``run_lock`` row with a lease: taken only when free, expired or already ours,
renewed by a heartbeat while the run goes on, deleted at the end. A crashed
worker's row simply expires.

A heartbeat thread also keeps the advisory lock's connection alive. If the lock is
lost during a run (the lease was taken over, the session died), ``HeldLock.lost``
is set and the run should stop at its next step.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine, delete, or_, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from worker.logs import get_logger
from worker.store import RunLock, StoreError

log = get_logger("worker.operate.locks")
DEFAULT_LEASE = timedelta(minutes=5)


class LockHeld(RuntimeError):
    """Another worker is running this connection."""

    def __init__(self, connection: str, holder: str | None = None) -> None:
        self.connection, self.holder = connection, holder
        by = f" ({holder})" if holder else ""
        super().__init__(f"connection {connection!r} is being run by another worker{by}")


@dataclass
class HeldLock:
    """A run lock this process holds."""

    connection: str
    holder: str
    method: str
    lost: threading.Event = field(default_factory=threading.Event)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def default_holder() -> str:
    """This process's name in the lock table: host, pid and a random suffix."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lock_key(namespace: str, connection: str) -> int:
    """The advisory lock key of a connection in a store namespace (a PostgreSQL schema): signed 64-bit."""
    digest = hashlib.blake2b(f"icp-run-lock:{namespace}:{connection}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class _Backend(Protocol):
    method: str

    def acquire(self) -> str | None: ...

    def renew(self) -> bool: ...

    def release(self) -> None: ...


class _AdvisoryLock:
    """A PostgreSQL session-level advisory lock on a dedicated connection."""

    method = "advisory"

    def __init__(self, engine: Engine, connection: str) -> None:
        self.engine, self.connection = engine, connection
        self._db: Connection | None = None
        self._key = 0

    def acquire(self) -> str | None:
        db = self.engine.connect()
        try:
            self._key = lock_key(db.execute(text("SELECT current_schema()")).scalar_one(), self.connection)
            taken = db.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar_one()
            db.commit()
        except BaseException:
            db.close()
            raise
        if not taken:
            db.close()
            return "another PostgreSQL session"
        self._db = db
        return None

    def renew(self) -> bool:
        assert self._db is not None
        self._db.execute(text("SELECT 1"))
        self._db.commit()
        return True

    def release(self) -> None:
        if self._db is None:
            return
        try:
            self._db.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            self._db.commit()
        except SQLAlchemyError:
            self._db.invalidate()
        finally:
            self._db.close()
            self._db = None


class _LeaseLock:
    """The ``run_lock`` row with a lease, for stores without advisory locks (SQLite)."""

    method = "lease"

    def __init__(self, engine: Engine, connection: str, holder: str, lease: timedelta,
                 clock: Callable[[], datetime]) -> None:
        self.engine, self.connection, self.holder = engine, connection, holder
        self.lease, self.clock = lease, clock

    def acquire(self) -> str | None:
        now = self.clock()
        statement = sqlite_insert(RunLock).values(connection=self.connection, holder=self.holder,
                                                  lease_until=now + self.lease)
        statement = statement.on_conflict_do_update(
            index_elements=["connection"],
            set_={"holder": statement.excluded.holder, "lease_until": statement.excluded.lease_until},
            where=or_(col(RunLock.lease_until) < now, col(RunLock.holder) == self.holder))
        current = select(col(RunLock.holder)).where(col(RunLock.connection) == self.connection)
        with self.engine.begin() as db:
            db.execute(statement)
            holder = db.execute(current).scalar_one()
        return None if holder == self.holder else holder

    def _ours(self) -> tuple[Any, ...]:
        return col(RunLock.connection) == self.connection, col(RunLock.holder) == self.holder

    def renew(self) -> bool:
        with self.engine.begin() as db:
            result = db.execute(update(RunLock).where(*self._ours()).values(lease_until=self.clock() + self.lease))
        return result.rowcount == 1

    def release(self) -> None:
        try:
            with self.engine.begin() as db:
                db.execute(delete(RunLock).where(*self._ours()))
        except SQLAlchemyError as exc:
            log.warning("run_lock.release_failed", connection=self.connection, error=str(exc))


def _heartbeat(backend: _Backend, held: HeldLock, interval: float, done: threading.Event) -> None:
    while not done.wait(interval):
        try:
            kept = backend.renew()
        except SQLAlchemyError as exc:
            kept = False
            log.error("run_lock.renew_failed", connection=held.connection, error=str(exc))
        if not kept:
            held.lost.set()
            log.error("run_lock.lost", connection=held.connection, holder=held.holder)
            return


@contextmanager
def acquire_run_lock(engine: Engine, connection: str, holder: str | None = None,
                     lease: timedelta = DEFAULT_LEASE,
                     clock: Callable[[], datetime] = utcnow) -> Iterator[HeldLock]:
    """Hold the run lock of ``connection`` for the block.

    Args:
        engine: The store.
        connection: The CRM connection's name.
        holder: This worker's name in the lock table (default: host, pid and a random suffix).
        lease: How long a SQLite lease lasts without renewal; the heartbeat renews it every third of it.
        clock: The time source for leases.

    Raises:
        LockHeld: Another worker holds the lock.
        StoreError: The store could not be reached.
    """
    holder = holder or default_holder()
    backend: _Backend = (_AdvisoryLock(engine, connection) if engine.dialect.name == "postgresql"
                         else _LeaseLock(engine, connection, holder, lease, clock))
    try:
        other = backend.acquire()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot take the run lock of {connection!r}: {exc}") from exc
    if other is not None:
        raise LockHeld(connection, other)
    held, done = HeldLock(connection, holder, backend.method), threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(backend, held, lease.total_seconds() / 3, done),
                            name=f"run-lock-{connection}", daemon=True)
    beat.start()
    log.info("run_lock.acquired", connection=connection, holder=holder, method=backend.method)
    try:
        yield held
    finally:
        done.set()
        beat.join()
        backend.release()
        log.info("run_lock.released", connection=connection, holder=holder)
