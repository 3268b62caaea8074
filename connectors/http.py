"""The one place HTTP outcomes are classified, retried and paced, for every connector.

Each CRM client reduces its library's failure to a :class:`Failure` (status, CRM
error code, Retry-After) and calls :func:`classify`, which returns the typed
error from :mod:`connectors.errors`. :class:`Retrier` retries only what was
classified retriable, honouring Retry-After, with bounded tries and total wait.
"""

from __future__ import annotations

import http.client
import random
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from connectors.errors import (
    AuthenticationError,
    ConnectorError,
    FatalError,
    QuotaExhaustedError,
    RetriableError,
    SkippableError,
)

T = TypeVar("T")

QUOTA_CODES = frozenset({"DAILY", "REQUEST_LIMIT_EXCEEDED", "API_DAILY_LIMIT"})
MALFORMED = "MALFORMED_RESPONSE"
RETRIABLE_STATUSES = frozenset({0, 408, 425, 429, 500, 502, 503, 504})
SKIPPABLE_STATUSES = frozenset({404, 409, 410})


@dataclass(frozen=True)
class Failure:
    """A failed call reduced to what classification needs. Never holds credentials."""

    endpoint: str
    status: int
    message: str
    code: str | None = None
    retry_after: float | None = None
    record_id: str | None = None


def malformed(endpoint: str, problem: str, status: int = 200) -> Failure:
    """A response that answered but cannot be used as it is (not JSON, an HTML page, a page without its fields)."""
    return Failure(endpoint=endpoint, status=status, message=f"malformed response: {problem}", code=MALFORMED)


def classify(failure: Failure) -> ConnectorError:
    """The typed error for a failed call.

    - quota codes (HubSpot 429 ``policyName: DAILY``, Salesforce ``REQUEST_LIMIT_EXCEEDED``) → stop cleanly;
    - a response that does not parse or lacks what it must carry (:data:`MALFORMED`, any status) → retriable,
      never an empty last page;
    - connection errors (status 0), 408/425/429 and 5xx → retriable;
    - 401 → authentication; 404/409/410 on a record → skippable; any other 4xx → fatal.
    """
    text = f"{failure.endpoint}: HTTP {failure.status}" + (f" {failure.code}" if failure.code else "")
    text += f": {failure.message}" if failure.message else ""
    endpoint, status = failure.endpoint, failure.status
    if failure.code in QUOTA_CODES:
        return QuotaExhaustedError(text, endpoint=endpoint, status=status)
    if failure.code == MALFORMED:
        return RetriableError(text, endpoint=endpoint, status=status)
    if status in RETRIABLE_STATUSES or status >= 500:
        return RetriableError(text, endpoint=endpoint, status=status, retry_after=failure.retry_after)
    if status == 401:
        return AuthenticationError(text, endpoint=endpoint, status=status)
    if status in SKIPPABLE_STATUSES and failure.record_id is not None:
        return SkippableError(text, record_id=failure.record_id, endpoint=endpoint, status=status)
    return FatalError(text, endpoint=endpoint, status=status)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry a retriable call.

    A rate-limited call (429) waits at least the server's Retry-After and at least the exponential
    backoff: a Retry-After shorter than the CRM's real window (HubSpot's burst limit is a rolling
    10 seconds) must not spend every try inside that window. Rate-limited tries have their own,
    larger allowance (``max_rate_limited_tries``); every kind shares ``max_total_wait``.
    """

    max_tries: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_total_wait: float = 120.0
    max_rate_limited_tries: int = 12

    def delay(self, attempt: int, retry_after: float | None, rate_limited: bool = False) -> float:
        """Seconds to wait before ``attempt`` (1-based), preferring the server's Retry-After."""
        backoff = min(self.base_delay * (2 ** (attempt - 1)), self.max_delay)
        if rate_limited:
            return min(max(retry_after or 0.0, backoff), max(self.max_delay, retry_after or 0.0))
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        return backoff * (0.5 + random.random() / 2)


class Retrier:
    """Runs a call, retrying only :class:`RetriableError` under a :class:`RetryPolicy`."""

    def __init__(self, policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep,
                 on_retry: Callable[[RetriableError, int, float], None] | None = None) -> None:
        self.policy = policy
        self._sleep = sleep
        self._on_retry = on_retry

    def run(self, call: Callable[[], T]) -> T:
        """Return the call's result or raise its final typed error."""
        waited = 0.0
        tries = {False: 0, True: 0}
        while True:
            try:
                return call()
            except RetriableError as error:
                limited = error.status == 429
                if limited and (error.retry_after or 0.0) > self.policy.max_total_wait:
                    raise QuotaExhaustedError(f"{error}; the CRM asks to wait {error.retry_after:.0f} s, longer than "
                                              f"{self.policy.max_total_wait:.0f} s: stopping cleanly, the next run "
                                              "resumes", endpoint=error.endpoint, status=429) from error
                tries[limited] += 1
                allowed = self.policy.max_rate_limited_tries if limited else self.policy.max_tries
                delay = self.policy.delay(tries[limited], error.retry_after, limited)
                if tries[limited] >= allowed or waited + delay > self.policy.max_total_wait:
                    raise
                attempt = tries[False] + tries[True]
                if self._on_retry is not None:
                    self._on_retry(error, attempt, delay)
                self._sleep(delay)
                waited += delay


class RateLimiter:
    """A sliding-window limiter: at most ``calls`` per ``window`` seconds, shared by threads."""

    def __init__(self, calls: int, window: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if calls < 1 or window <= 0:
            raise ValueError("a rate limit needs at least one call per positive window")
        self.calls, self.window = calls, window
        self._clock, self._sleep = clock, sleep
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until a call may be made; return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                while self._stamps and now - self._stamps[0] >= self.window:
                    self._stamps.popleft()
                if len(self._stamps) < self.calls:
                    self._stamps.append(now)
                    return waited
                pause = self.window - (now - self._stamps[0])
            self._sleep(pause)
            waited += pause


TLS_STATUS = 495
"""The status a TLS failure is reported with (nginx's "SSL certificate error"): a fatal 4xx, never retried."""


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception it wraps (``reason``, ``args[0]``, ``__cause__``, ``__context__``)."""
    seen: list[BaseException] = []
    todo: list[object] = [exc]
    while todo:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        todo += [getattr(item, "reason", None), item.args[0] if item.args else None, item.__cause__,
                 item.__context__]
    return seen


def _host(chain: list[BaseException], url: str | None) -> str:
    for item in chain:
        pool = getattr(item, "pool", None)
        host, port = getattr(pool, "host", None), getattr(pool, "port", None)
        if host:
            return f"{host}:{port}" if port else str(host)
        request_url = getattr(getattr(item, "request", None), "url", None)
        if request_url:
            url = url or str(request_url)
    if url:
        parts = urlsplit(url)
        return parts.netloc.rpartition("@")[2] or url
    return "the CRM"


def network_failure(endpoint: str, exc: BaseException, url: str | None = None) -> Failure:
    """A connection-level failure named by its real cause and host.

    TLS: a certificate that does not verify (expired, wrong host name, unknown CA: the verifier's
    own words), or a handshake that failed for another reason (a server that does not speak TLS
    on that port, an old protocol version) is fatal (status :data:`TLS_STATUS`). Refused
    connections, unknown host names, timeouts and connections closed mid-answer are retriable
    (status 0), each said as such, with the host.
    """
    chain = _chain(exc)
    host = _host(chain, url)
    for item in chain:
        if isinstance(item, ssl.SSLCertVerificationError):
            why = item.verify_message or item.reason or str(item)
            return Failure(endpoint, TLS_STATUS, f"TLS certificate verification failed for {host}: {why}; set "
                                                 "ca_bundle to the CA that signed it (never turn verification off)")
    for item in chain:
        if isinstance(item, ssl.SSLError):
            why = item.reason or item.strerror or str(item)
            hint = " (is it an http:// server?)" if "WRONG_VERSION_NUMBER" in str(why) else ""
            return Failure(endpoint, TLS_STATUS, f"TLS handshake with {host} failed: {why}{hint}")
    kinds: list[tuple[type[BaseException], str]] = [
        (ConnectionRefusedError, "connection refused"), (socket.gaierror, "host name not found"),
        (TimeoutError, "timed out"), (ConnectionResetError, "connection reset"),
        (http.client.IncompleteRead, "the answer was cut off"),
        (http.client.RemoteDisconnected, "closed the connection without answering")]
    for kind, said in kinds:
        if any(isinstance(item, kind) for item in chain):
            return Failure(endpoint, 0, f"{host}: {said}")
    names = {type(item).__name__ for item in chain}
    if names & {"ReadTimeoutError", "ConnectTimeoutError", "ReadTimeout", "ConnectTimeout"}:
        return Failure(endpoint, 0, f"{host}: timed out")
    if names & {"ProtocolError", "ChunkedEncodingError"}:
        return Failure(endpoint, 0, f"{host}: the connection broke mid-answer")
    return Failure(endpoint, 0, f"{host}: {type(exc).__name__}")
