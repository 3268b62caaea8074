"""Creating records that carry an idempotency key through a CRM call that is not idempotent.

A create that fails with a retriable error (a 502 or 504, a timeout, a dropped connection) may
still have been carried out by the CRM. Sending it again would create a second record, so the
keys of the failed attempt are first looked up in the CRM, and only the ones it does not hold are
sent again. The create itself must be called without the client's own retries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from connectors.errors import RetriableError
from connectors.http import RetryPolicy

__all__ = ["create_once"]

Send = Callable[[list[str]], tuple[dict[str, str], dict[str, str]]]
"""Creates the records of these keys in one call (no retries): (key → CRM id, key → why it was refused)."""
Find = Callable[[list[str]], dict[str, str]]
"""Looks keys up in the CRM; key → CRM id of those that exist."""


def create_once(keys: Sequence[str], send: Send, find: Find, policy: RetryPolicy,
                look_up: Sequence[str] = (), sleep: Callable[[float], None] = time.sleep,
                on_retry: Callable[[RetriableError, int, float], None] | None = None,
                settle: float = 0.0) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """(key → CRM id, key → why the CRM refused it, keys found already created).

    ``settle`` is the least time to wait before looking keys up after a failure: a CRM whose search
    index lags behind its writes (HubSpot's, by seconds) must be given time to show what it created.
    Raises the last retriable error when the retries run out.

    ``look_up`` keys (an earlier attempt's outcome is unknown) are looked up before anything is sent.
    """
    asked = [k for k in keys if k in set(look_up)]
    done = find(asked) if asked else {}
    found = set(done)
    refused: dict[str, str] = {}
    missing = [k for k in keys if k not in done]
    for attempt in range(1, policy.max_tries + 1):
        if not missing:
            break
        try:
            created, failed = send(missing)
            done.update(created)
            refused.update(failed)
            missing = [k for k in missing if k not in done and k not in refused]
        except RetriableError as error:
            if attempt == policy.max_tries:
                raise
            delay = max(policy.delay(attempt, error.retry_after), settle)
            if on_retry is not None:
                on_retry(error, attempt, delay)
            sleep(delay)
            existing = find(missing)
            done.update(existing)
            found.update(existing)
            missing = [k for k in missing if k not in done]
    return done, refused, found
