"""Fault injection: canned responses that replace the next matching calls.

Besides a status and a JSON body, a fault can carry a ``raw`` body sent as it is (an HTML error
page or a broken JSON document answering 200), let the CRM act first and answer the fault after
(``after=True``: a 502 or a timeout once the record was written), or break the connection:
``cut="drop"`` closes it without an answer, ``cut="truncate"`` sends the headers and half the body.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Fault", "FaultInjector", "ANY_ROUTE", "Cut"]

ANY_ROUTE = "*"
Cut = Literal["drop", "truncate"]


@dataclass
class Fault:
    """A response to return instead of the real one, `remaining` more times."""

    route: str
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    remaining: int = 1
    delay: float = 0.0
    raw: bytes | None = None
    after: bool = False
    cut: Cut | None = None
    skip: int = 0


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
        raw: bytes | str | None = None,
        after: bool = False,
        cut: Cut | None = None,
        skip: int = 0,
    ) -> Fault:
        """Answer the next `times` calls to `route` with `status` (and `body`/`headers`).

        Without a body the server's standard error body for that status is used. `delay` seconds
        are waited before answering, which lets tests exercise client timeouts. `raw` is sent as the
        body byte for byte (no JSON Content-Type); `after` runs the real handler first (the CRM acted)
        and answers the fault instead of its result; `cut` drops or truncates the connection;
        `skip` lets that many matching calls through first (a fault on the third page).
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        payload = raw.encode() if isinstance(raw, str) else raw
        fault = Fault(route, status, body, dict(headers or {}), times, delay, payload, after, cut, skip)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, route: str) -> Fault | None:
        """Consume one use of the first fault matching `route`, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.route in (route, ANY_ROUTE):
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
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
