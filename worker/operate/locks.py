"""The run lock: one worker at a time per CRM connection, across processes and machines.

On PostgreSQL the lock is a session-level advisory lock, taken with
``pg_try_advisory_lock`` on a connection held for the whole run; when a worker
crashes its session ends and the server frees the lock. Elsewhere (SQLite) it is
the ``run_lock`` row with a lease: taken only when free, expired, already ours or
left by a dead process, renewed by a heartbeat every couple of seconds while the run
goes on, deleted at the end. A dead holder's row is taken over at once: when its
process (named in the row as host:pid) is gone from this machine, or when its
heartbeat is older than the short lease (a few seconds) wherever it ran.

A heartbeat thread also keeps the advisory lock's connection alive. If the lock is
lost during a run (the lease was taken over, the session died), ``HeldLock.lost``
is set and the run should stop at its next step.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
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
DEFAULT_LEASE = timedelta(seconds=10)
BEATS_PER_LEASE = 5


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


def holder_alive(holder: str) -> bool | None:
    """Whether a lock holder's process is alive: True or False when it ran on this machine, None when unknown.

    Holders are named ``host:pid:suffix`` (:func:`default_holder`); other names are unknown.
    """
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname()[:80] or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A process that has exited but was not reaped yet (Linux); it holds nothing any more."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def lock_key(namespace: str, connection: str) -> int:
    """The advisory lock key of a connection in a store namespace (a PostgreSQL schema): signed 64-bit."""
    digest = hashlib.blake2b(f"icp-run-lock:{namespace}:{connection}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


TAKEOVER_WAIT = 10.0
"""Seconds to wait for the server to free a dead holder's advisory lock after ending its session."""
EXITING_WAIT = 2.0
"""Seconds to wait for a lock whose session no longer shows among the server's sessions (it is ending)."""


def _session_name() -> str:
    """This process as a PostgreSQL ``application_name`` (at most 63 bytes): ``icp pid@host``."""
    return f"icp {os.getpid()}@{socket.gethostname()}"[:63]


def _session_alive(name: str) -> bool | None:
    """Whether the process a lock session names is alive: None when it is not a worker of this machine."""
    if not name.startswith("icp "):
        return None
    pid, _, host = name[4:].partition("@")
    if not pid.isdigit() or not host or not socket.gethostname().startswith(host):
        return None
    return holder_alive(f"{socket.gethostname()[:80]}:{pid}:session")


class _Backend(Protocol):
    method: str

    def acquire(self) -> str | None: ...

    def renew(self) -> bool: ...

    def release(self) -> None: ...


class _AdvisoryLock:
    """A PostgreSQL session-level advisory lock on a dedicated connection.

    The session names its process (``application_name``: ``icp pid@host``). A killed worker's session
    ends only when its server process notices (at once when idle, after its statement when busy), so a
    lock whose holder is a process gone from this machine has its session ended
    (``pg_terminate_backend``) and is taken once the server has freed it, within :data:`TAKEOVER_WAIT`.
    """

    method = "advisory"

    def __init__(self, engine: Engine, connection: str, sleep: Callable[[float], None] = time.sleep) -> None:
        self.engine, self.connection = engine, connection
        self._db: Connection | None = None
        self._key = 0
        self._sleep = sleep

    def acquire(self) -> str | None:
        db = self.engine.connect()
        try:
            self._key = lock_key(db.execute(text("SELECT current_schema()")).scalar_one(), self.connection)
            taken = self._try(db)
            if not taken:
                holder = self._holder(db)
                if holder is None:  # its session is ending (it no longer shows among the server's sessions)
                    taken = self._wait_free(db, EXITING_WAIT)
                elif _session_alive(holder[1]) is False:
                    taken = self._take_over(db, holder)
            if taken:
                db.execute(text("SELECT set_config('application_name', :n, false)"), {"n": _session_name()})
            db.commit()
        except BaseException:
            db.close()
            raise
        if not taken:
            db.close()
            return "another PostgreSQL session"
        self._db = db
        return None

    def _try(self, db: Connection) -> bool:
        return bool(db.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar_one())

    def _holder(self, db: Connection) -> tuple[int, str] | None:
        """The server process holding the lock and its session's name (a bigint key is classid, objid)."""
        row = db.execute(text(
            "SELECT a.pid, coalesce(a.application_name, '') FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.classid::bigint = :hi "
            "AND l.objid::bigint = :lo "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
            {"hi": (self._key >> 32) & 0xFFFFFFFF, "lo": self._key & 0xFFFFFFFF}).first()
        return (int(row[0]), str(row[1])) if row is not None else None

    def _take_over(self, db: Connection, holder: tuple[int, str]) -> bool:
        """End the dead holder's session and take the lock once the server has freed it."""
        log.warning("run_lock.dead_holder", connection=self.connection, session=holder[1], server_pid=holder[0])
        db.execute(text("SELECT pg_terminate_backend(:p)"), {"p": holder[0]})
        return self._wait_free(db, TAKEOVER_WAIT)

    def _wait_free(self, db: Connection, seconds: float) -> bool:
        """Try the lock every tenth of a second for ``seconds``; True once taken."""
        waited = 0.0
        while waited < seconds:
            if self._try(db):
                return True
            self._sleep(0.1)
            waited += 0.1
        return False

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
        current = select(col(RunLock.holder)).where(col(RunLock.connection) == self.connection)
        statement = sqlite_insert(RunLock).values(connection=self.connection, holder=self.holder,
                                                  lease_until=now + self.lease)
        with self.engine.begin() as db:
            before = db.execute(current).scalar_one_or_none()
            dead = before is not None and before != self.holder and holder_alive(before) is False
            takeover = [col(RunLock.lease_until) < now, col(RunLock.holder) == self.holder]
            if dead:
                takeover.append(col(RunLock.holder) == before)
            db.execute(statement.on_conflict_do_update(
                index_elements=["connection"],
                set_={"holder": statement.excluded.holder, "lease_until": statement.excluded.lease_until},
                where=or_(*takeover)))
            holder = db.execute(current).scalar_one()
        if dead and holder == self.holder:
            log.warning("run_lock.taken_over", connection=self.connection, dead_holder=before)
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
    """Renew every ``interval``; a store error is retried at the next beat, a lock taken by another is lost."""
    failures = 0
    while not done.wait(interval):
        try:
            kept = backend.renew()
            failures = 0
        except SQLAlchemyError as exc:
            failures += 1
            kept = failures < BEATS_PER_LEASE
            log.warning("run_lock.renew_failed", connection=held.connection, error=str(exc).splitlines()[0])
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
        lease: How long a SQLite lease lasts without renewal; the heartbeat renews it five times per lease.
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
    beat = threading.Thread(target=_heartbeat, args=(backend, held, lease.total_seconds() / BEATS_PER_LEASE, done),
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


@dataclass(frozen=True)
class LockState:
    """Who holds a connection's run lock, and whether that holder is alive (for ``icp healthcheck``)."""

    held: bool
    alive: bool = False
    holder: str | None = None
    detail: str = ""


def lock_state(engine: Engine, connection: str, now: datetime | None = None) -> LockState:
    """The run lock of ``connection`` as seen from outside: free, held by a live worker, or held by a dead one.

    A PostgreSQL advisory lock dies with its holder's session, so a held one is alive. A SQLite
    lease row is dead when its process is gone from this machine or its heartbeat has stopped.
    """
    if engine.dialect.name == "postgresql":
        probe = _AdvisoryLock(engine, connection)
        other = probe.acquire()
        if other is None:
            probe.release()
            return LockState(held=False)
        return LockState(held=True, alive=True, holder=other)
    with engine.connect() as db:
        row = db.execute(select(col(RunLock.holder), col(RunLock.lease_until))
                         .where(col(RunLock.connection) == connection)).first()
    if row is None:
        return LockState(held=False)
    holder, until = str(row[0]), row[1]
    if until is None:
        return LockState(held=False)
    until = until if until.tzinfo else until.replace(tzinfo=UTC)
    late = ((now or utcnow()) - until).total_seconds()
    if holder_alive(holder) is False:
        return LockState(True, False, holder, "its process is gone")
    if late > 0:
        return LockState(True, False, holder, f"its heartbeat stopped (lease ran out {late:.0f} s ago)")
    return LockState(True, True, holder)
