"""A thin, safe layer over simple-salesforce: one login, one re-login, retries, quota guard, typed errors.

Every call goes through :meth:`SalesforceClient.call`, which

- refuses to start when the org's daily API allocation is under the configured reserve
  (read from ``Sforce-Limit-Info`` on every response), raising ``QuotaExhaustedError``;
- retries connection errors and 5xx under the :class:`~connectors.http.RetryPolicy`;
- on an expired session logs in again once and repeats the call; a second 401 fails cleanly;
- translates every simple-salesforce or ``requests`` failure through :func:`connectors.http.classify`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession

from connectors.errors import AuthenticationError, QuotaExhaustedError, RetriableError
from connectors.http import Failure, Retrier, classify, malformed, network_failure
from connectors.salesforce.auth import login
from connectors.salesforce.session import ApiUsage, SalesforceSession
from connectors.salesforce.settings import SalesforceSettings

__all__ = ["SalesforceClient", "to_failure"]

T = TypeVar("T")
Check = Callable[[Any], str | None]


class _SessionExpired(Exception):
    """A 401 from an API call: the session is no longer good."""


def _first_error(content: Any) -> dict[str, Any]:
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return content[0]
    if isinstance(content, dict):
        return content
    return {"message": content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content or "")}


def to_failure(endpoint: str, exc: Exception, record_id: str | None = None) -> Failure | None:
    """Reduce a simple-salesforce or ``requests`` exception to a :class:`Failure`; None when it is neither."""
    if isinstance(exc, SalesforceError):
        error = _first_error(exc.content)
        return Failure(endpoint=endpoint, status=int(exc.status), message=str(error.get("message") or "")[:300],
                       code=error.get("errorCode"), record_id=record_id)
    if isinstance(exc, requests.exceptions.JSONDecodeError):
        return malformed(endpoint, "the body is not JSON (an HTML page or a cut-off document)")
    if isinstance(exc, requests.RequestException):
        return network_failure(endpoint, exc)
    return None


class SalesforceClient:
    """One org's simple-salesforce client, logged in lazily through the connector's own session."""

    def __init__(self, settings: SalesforceSettings,
                 on_retry: Callable[[RetriableError, int, float], None] | None = None) -> None:
        settings.validate()
        self.settings = settings
        self.session = SalesforceSession(settings.timeout, settings.ca_bundle)
        self.logins = 0
        self._retrier = Retrier(settings.retry, on_retry=on_retry)
        self._sf: Salesforce | None = None

    @property
    def calls(self) -> Counter[str]:
        """HTTP calls made, by endpoint (logins included)."""
        return self.session.calls

    @property
    def usage(self) -> ApiUsage | None:
        """The org's API usage as last reported."""
        return self.session.usage

    def sf(self) -> Salesforce:
        """The simple-salesforce client, logging in first if needed."""
        if self._sf is None:
            session = self._retrier.run(lambda: login(self.session, self.settings))
            self.logins += 1
            self._sf = Salesforce(instance_url=session.instance_url, session_id=session.session_id,
                                  session=self.session, version=self.settings.api_version, object_pairs_hook=dict)
        return self._sf

    def note_usage(self, usage: ApiUsage) -> None:
        """Record usage read elsewhere (``/limits``) and stop if it is under the reserve."""
        self.session.usage = usage
        self.check_reserve()

    def check_reserve(self) -> None:
        """Raise ``QuotaExhaustedError`` when fewer calls than the reserve remain today."""
        usage = self.session.usage
        if usage is not None and usage.remaining < self.settings.daily_reserve:
            raise QuotaExhaustedError(
                f"Salesforce daily API allocation: {usage.used:,} of {usage.total:,} used, {usage.remaining:,} left, "
                f"under the reserve of {self.settings.daily_reserve:,}")

    def call(self, endpoint: str, fn: Callable[[Salesforce], T], record_id: str | None = None,
             retry: bool = True, expect: Check | None = None) -> T:
        """Run ``fn(sf)`` with the quota guard, retries, a single re-login and typed errors.

        ``retry=False`` makes one attempt only (besides a re-login), for calls that are not idempotent.
        With ``expect`` the answer is checked: a problem it names is a malformed response, retried like a 5xx.
        """
        relogged = False
        while True:
            self.check_reserve()
            sf = self.sf()
            try:
                if not retry:
                    return self._attempt(endpoint, fn, sf, record_id, expect)
                return self._retrier.run(partial(self._attempt, endpoint, fn, sf, record_id, expect))
            except _SessionExpired:
                if relogged or not self.settings.credentials.can_login:
                    raise AuthenticationError(self._expired_message(relogged), endpoint=endpoint,
                                              status=401) from None
                relogged = True
                self._sf = None

    def retrying(self, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` (which makes its calls with ``retry=False``) under this client's retry policy."""
        return self._retrier.run(attempt)

    def _expired_message(self, relogged: bool) -> str:
        if relogged:
            return ("Salesforce rejected a fresh session (HTTP 401 INVALID_SESSION_ID right after logging in again): "
                    "check the integration user is active and has API access")
        return ("Salesforce session expired and an existing session id cannot be renewed: set a fresh session id "
                "or use client_credentials / jwt_bearer")

    def _attempt(self, endpoint: str, fn: Callable[[Salesforce], T], sf: Salesforce, record_id: str | None,
                 expect: Check | None) -> T:
        try:
            result = fn(sf)
        except SalesforceExpiredSession:
            raise _SessionExpired from None
        except (SalesforceError, requests.RequestException) as exc:
            failure = to_failure(endpoint, exc, record_id)
            assert failure is not None
            raise classify(failure) from None
        problem = expect(result) if expect is not None else None
        if problem is not None:
            raise classify(malformed(endpoint, problem))
        return result

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()
        self._sf = None
