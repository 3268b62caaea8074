"""One place classifies responses; retries honour Retry-After and are bounded; the limiter paces calls."""

from __future__ import annotations

import pytest

from connectors.errors import AuthenticationError, FatalError, QuotaExhaustedError, RetriableError, SkippableError
from connectors.http import Failure, RateLimiter, Retrier, RetryPolicy, classify


@pytest.mark.parametrize(("failure", "expected"), [
    (Failure("e", 429, "ten secondly", code="TEN_SECONDLY_ROLLING", retry_after=2), RetriableError),
    (Failure("e", 429, "daily", code="DAILY"), QuotaExhaustedError),
    (Failure("e", 403, "limit", code="REQUEST_LIMIT_EXCEEDED"), QuotaExhaustedError),
    (Failure("e", 0, "ConnectionResetError"), RetriableError),
    (Failure("e", 502, "bad gateway"), RetriableError),
    (Failure("e", 503, "unavailable"), RetriableError),
    (Failure("e", 401, "expired"), AuthenticationError),
    (Failure("e", 403, "missing scopes"), FatalError),
    (Failure("e", 400, "bad request"), FatalError),
    (Failure("e", 404, "not found", record_id="7"), SkippableError),
    (Failure("e", 404, "no such endpoint"), FatalError),
])
def test_classification(failure: Failure, expected: type[Exception]) -> None:
    """Each failure maps to the error type of the action it requires."""
    error = classify(failure)
    assert type(error) is expected
    assert failure.endpoint in str(error)


def test_retry_after_is_honoured_and_retries_stop() -> None:
    """Retriable errors are retried with the server's Retry-After, up to the try limit."""
    waits: list[float] = []
    calls = {"n": 0}

    def flaky() -> str:
        calls["n"] += 1
        raise RetriableError("busy", retry_after=1.5)

    with pytest.raises(RetriableError):
        Retrier(RetryPolicy(max_tries=3), sleep=waits.append).run(flaky)
    assert calls["n"] == 3 and waits == [1.5, 1.5]


def test_fatal_errors_are_not_retried() -> None:
    """Only retriable errors are retried."""
    calls = {"n": 0}

    def broken() -> None:
        calls["n"] += 1
        raise FatalError("no")

    with pytest.raises(FatalError):
        Retrier(RetryPolicy(), sleep=lambda _: None).run(broken)
    assert calls["n"] == 1


def test_success_after_transient_failure() -> None:
    """A call that recovers returns its result."""
    outcomes = iter([RetriableError("x"), "ok"])

    def call() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert Retrier(RetryPolicy(base_delay=0), sleep=lambda _: None).run(call) == "ok"


def test_rate_limiter_waits_for_the_window() -> None:
    """The limiter lets ``calls`` through per window, then waits for the oldest to expire."""
    now = {"t": 0.0}

    def sleep(seconds: float) -> None:
        now["t"] += seconds

    limiter = RateLimiter(3, 10.0, clock=lambda: now["t"], sleep=sleep)
    assert [limiter.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire() == pytest.approx(10.0)
