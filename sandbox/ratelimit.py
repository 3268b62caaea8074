"""Rolling-window rate limits: a burst window, a daily quota and a per-second search limit."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.clock import Clock

__all__ = ["RateLimiter", "RateState", "TEN_SECONDLY", "DAILY", "SECONDLY"]

TEN_SECONDLY = "TEN_SECONDLY_ROLLING"
DAILY = "DAILY"
SECONDLY = "SECONDLY"

DEFAULT_PER_10S = 190
DEFAULT_DAILY = 1_000_000


@dataclass(frozen=True)
class RateState:
    """Limits and remaining allowance after a request, for response headers."""

    per_10s: int
    per_10s_remaining: int
    daily: int
    daily_remaining: int
    search_per_second: int | None
    search_remaining: int | None


class RateLimiter:
    """Counts requests and, once configured, refuses those over a limit.

    The burst and per-second windows use a monotonic timer; the daily quota resets when the
    UTC date of `clock` changes. Search requests are exempt from the burst window.
    """

    def __init__(self, clock: Clock, timer: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._timer = timer
        self._lock = threading.Lock()
        self.per_10s: int | None = None
        self.daily: int | None = None
        self.search_per_second: int | None = None
        self.retry_after: float | None = None
        self.reset()

    def configure(self, per_10s: int | None, daily: int | None, search_per_second: int | None,
                  retry_after: float | None = None) -> None:
        """Switch limits on (a number) or off (None); `retry_after` adds a Retry-After header."""
        with self._lock:
            self.per_10s, self.daily, self.search_per_second = per_10s, daily, search_per_second
            self.retry_after = retry_after

    def reset(self) -> None:
        """Forget all counted requests."""
        with self._lock:
            self._burst: deque[float] = deque()
            self._search: deque[float] = deque()
            self._day = self._clock.now().date()
            self._day_count = 0

    def check(self, is_search: bool) -> str | None:
        """Record a request, or return the breached policy name without recording it."""
        with self._lock:
            now = self._timer()
            self._expire(now)
            if self.daily is not None and self._day_count >= self.daily:
                return DAILY
            if is_search:
                if self.search_per_second is not None and len(self._search) >= self.search_per_second:
                    return SECONDLY
                self._search.append(now)
            else:
                if self.per_10s is not None and len(self._burst) >= self.per_10s:
                    return TEN_SECONDLY
                self._burst.append(now)
            self._day_count += 1
            return None

    def state(self) -> RateState:
        """Current limits and what is left of them."""
        with self._lock:
            self._expire(self._timer())
            per_10s = self.per_10s if self.per_10s is not None else DEFAULT_PER_10S
            daily = self.daily if self.daily is not None else DEFAULT_DAILY
            sps = self.search_per_second
            return RateState(
                per_10s=per_10s,
                per_10s_remaining=max(per_10s - len(self._burst), 0),
                daily=daily,
                daily_remaining=max(daily - self._day_count, 0),
                search_per_second=sps,
                search_remaining=None if sps is None else max(sps - len(self._search), 0),
            )

    def _expire(self, now: float) -> None:
        while self._burst and now - self._burst[0] >= 10.0:
            self._burst.popleft()
        while self._search and now - self._search[0] >= 1.0:
            self._search.popleft()
        today = self._clock.now().date()
        if today != self._day:
            self._day, self._day_count = today, 0
