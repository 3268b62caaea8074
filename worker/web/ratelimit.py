"""The sign-in rate limit: too many failed sign-ins for one account, or from one address, lock sign-in for a while.

Attempts are kept in the store, so the limit holds across restarts and across several replicas.
An account is locked after ``max_failed`` failures within ``window`` since its last success; an
address after four times as many (password spraying across accounts). A locked sign-in is refused
without checking the password.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, select
from sqlmodel import Session, col

from worker.store import LoginAttempt, session_scope

ADDRESS_FACTOR = 4


@dataclass(frozen=True)
class Lockout:
    """Sign-in is refused until ``until``."""

    until: datetime

    def minutes_left(self, now: datetime) -> int:
        """Whole minutes until sign-in is possible again (at least 1)."""
        return max(1, int((self.until - now).total_seconds() // 60) + 1)


class SignInLimiter:
    """Counts failed sign-ins per account and per address."""

    def __init__(self, engine: Engine, max_failed: int, window: timedelta, clock: Callable[[], datetime]) -> None:
        self.engine, self.max_failed, self.window, self.clock = engine, max_failed, window, clock

    def locked(self, email: str, address: str) -> Lockout | None:
        """A lockout when this account or this address has failed too often recently; None otherwise."""
        now = self.clock()
        since = now - self.window
        with Session(self.engine) as db:
            last_ok = db.execute(select(func.max(col(LoginAttempt.at))).where(
                col(LoginAttempt.email) == email, col(LoginAttempt.ok).is_(True))).scalar()
            start = max(since, last_ok) if last_ok else since
            by_email = self._failures(db, col(LoginAttempt.email) == email, start)
            by_address = self._failures(db, col(LoginAttempt.address) == address, since)
        for failures, limit in ((by_email, self.max_failed), (by_address, self.max_failed * ADDRESS_FACTOR)):
            if len(failures) >= limit:
                return Lockout(failures[-limit] + self.window)
        return None

    def record(self, email: str, address: str, ok: bool) -> None:
        """Keep an attempt; old attempts are dropped."""
        now = self.clock()
        with session_scope(self.engine) as db:
            db.add(LoginAttempt(email=email[:320], address=address[:64], at=now, ok=ok))
            db.execute(delete(LoginAttempt).where(col(LoginAttempt.at) < now - 4 * self.window))

    @staticmethod
    def _failures(db: Session, which: object, since: datetime) -> list[datetime]:
        rows = db.execute(select(col(LoginAttempt.at)).where(
            which, col(LoginAttempt.ok).is_(False), col(LoginAttempt.at) > since  # type: ignore[arg-type]
        ).order_by(col(LoginAttempt.at))).scalars()
        return [r for r in rows if r is not None]
