"""Creating and updating CRM records through calls that may have been carried out although they failed.

A create that fails with a retriable error (a 502 or 504, a timeout, a dropped connection) may
still have been carried out by the CRM. Sending it again would create a second record, so the
keys of the failed attempt are first looked up in the CRM, and only the ones it does not hold are
sent again. The create itself must be called without the client's own retries.

An update is the same: sending a batch of owned values again after the CRM applied it writes
every record twice (each a new modification, a new history entry, a new trigger run). So after
such a failure the batch is read back and only the records that do not hold their values yet are
sent again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from connectors.errors import RetriableError
from connectors.http import RetryPolicy

__all__ = ["create_once", "same_value", "update_once"]

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


Update = Callable[[list[str]], dict[str, str]]
"""Updates these records in one call (no retries of its own): record id → why the CRM refused it."""
Held = Callable[[list[str]], set[str]]
"""Reads these records back in one call (no retries of its own): the ids whose fields already hold the update."""


def update_once(ids: Sequence[str], send: Update, held: Held, run: Callable[[Callable[[], dict[str, str]]],
                dict[str, str]]) -> tuple[dict[str, str], set[str]]:
    """(record id → why the CRM refused it, ids found already updated) for one batch update, never applied twice.

    An update that fails with a retriable error other than a 429 (a 5xx or a timeout after the CRM acted,
    a dropped connection) may have been carried out. Before it is tried again (``run`` is the client's
    retrier, so Retry-After and the tries allowed are the client's own) the batch's records are read back
    in one call, and only those that do not yet hold their values are sent again.
    """
    pending = list(ids)
    found: set[str] = set()
    unsure = False

    def attempt() -> dict[str, str]:
        nonlocal pending, unsure
        if unsure:
            already = held(pending)
            found.update(already)
            pending = [i for i in pending if i not in already]
            unsure = False
        if not pending:
            return {}
        unsure = True
        try:
            refused = send(pending)
        except RetriableError as error:
            unsure = error.status != 429  # a rate-limited call was refused before the CRM acted
            raise
        unsure = False
        return refused

    return run(attempt), found


def same_value(sent: object, shown: object) -> bool:
    """Whether a value the CRM shows is the one sent: empty equals empty, numbers compare as numbers,
    timestamps as instants to the millisecond (``2026-11-01T12:00:00.000123Z`` is ``2026-11-01T12:00:00.000+0000``),
    booleans as text."""
    if sent in (None, "") or shown in (None, ""):
        return sent in (None, "") and shown in (None, "")
    if isinstance(sent, bool) or isinstance(shown, bool):
        return str(sent).lower() == str(shown).lower()
    if str(sent) == str(shown):
        return True
    numbers = _number(sent), _number(shown)
    if None not in numbers:
        return numbers[0] == numbers[1]
    moments = _instant(sent), _instant(shown)
    return None not in moments and moments[0] == moments[1]


def _millisecond(moment: datetime) -> datetime:
    """CRMs keep timestamps to the millisecond (HubSpot, Salesforce): finer digits sent are dropped."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _number(value: object) -> float | None:
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _instant(value: object) -> datetime | None:
    text = str(value).strip()
    if len(text) < 19 or text[4:5] != "-" or "T" not in text:
        return None
    text = text.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # +0000 → +00:00
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return _millisecond(moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC))
