"""A controllable UTC clock with millisecond precision."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "to_ms", "from_ms"]


def to_ms(at: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    if at.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return int(round(at.timestamp() * 1000))


def from_ms(ms: int) -> datetime:
    """Aware UTC datetime for epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _truncate(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(microsecond=at.microsecond // 1000 * 1000)


class Clock:
    """Real UTC time by default; tests can freeze it, set it, or move it forward.

    When frozen, every reading returns the same instant, so writes made meanwhile share one
    timestamp (to the millisecond).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen: datetime | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        """The current instant (aware UTC, millisecond precision)."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return _truncate(datetime.now(UTC) + self._offset)

    def now_ms(self) -> int:
        """The current instant as epoch milliseconds."""
        return to_ms(self.now())

    def set(self, at: datetime, *, frozen: bool = True) -> None:
        """Jump to `at`; if not `frozen`, time keeps running from there."""
        if at.tzinfo is None:
            raise ValueError("datetime must be timezone-aware")
        with self._lock:
            if frozen:
                self._frozen = _truncate(at)
            else:
                self._frozen = None
                self._offset = at - datetime.now(UTC)

    def advance(self, delta: timedelta | float) -> None:
        """Move forward by `delta` (a timedelta or seconds)."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        with self._lock:
            if self._frozen is not None:
                self._frozen = _truncate(self._frozen + step)
            else:
                self._offset += step

    def reset(self) -> None:
        """Return to real time."""
        with self._lock:
            self._frozen = None
            self._offset = timedelta(0)

    @property
    def frozen(self) -> bool:
        """Whether the clock is frozen."""
        return self._frozen is not None
