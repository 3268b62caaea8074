"""Fault injection: canned responses that replace the next matching calls."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Fault", "FaultInjector", "ANY_ROUTE"]

ANY_ROUTE = "*"


@dataclass
class Fault:
    """A response to return instead of the real one, `remaining` more times."""

    route: str
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    remaining: int = 1
    delay: float = 0.0
    after: bool = False
    """True: the CRM carries the call out first, then answers with the fault (a 502 after the create)."""


class FaultInjector:
    """Queue of faults keyed by route name (e.g. "GET /crm/v3/objects/companies", or "*" for any)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        route: str,
        status: int,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        delay: float = 0.0,
        after: bool = False,
    ) -> Fault:
        """Answer the next `times` calls to `route` with `status` (and `body`/`headers`).

        Without a body the server's standard error body for that status is used. `delay` seconds
        are waited before answering, which lets tests exercise client timeouts. With `after` the call is
        carried out first (the record is created or changed) and only the answer is replaced: the
        failure after the CRM acted, whose outcome a client cannot know.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        fault = Fault(route, status, body, dict(headers or {}), times, delay, after)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, route: str) -> Fault | None:
        """Consume one use of the first fault matching `route`, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.route in (route, ANY_ROUTE):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        """Drop all pending faults."""
        with self._lock:
            self._faults.clear()

    @property
    def pending(self) -> list[Fault]:
        """Faults not yet used up."""
        with self._lock:
            return list(self._faults)
