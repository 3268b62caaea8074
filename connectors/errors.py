"""Connector errors, typed by the action they require of the run.

::

    ConnectorError
    ├── RetriableError        try again later (network, 429, 5xx); carries retry_after
    ├── QuotaExhaustedError   stop the run cleanly and keep state (daily API allocation used up)
    ├── SkippableError        this record cannot be processed: quarantine it and continue
    └── FatalError            the run cannot go on: fail it and alert (auth, permissions, config)
        ├── AuthenticationError
        └── MissingFieldsError    owned CRM fields are missing; says how to create them

Each CRM client translates its library's exceptions into these at one point, so the
worker never sees ``ApiException`` or ``SalesforceError``. Messages never contain
credentials.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every connector error."""

    def __init__(self, message: str, *, endpoint: str | None = None, status: int | None = None) -> None:
        self.endpoint = endpoint
        self.status = status
        super().__init__(message)


class RetriableError(ConnectorError):
    """A transient failure: the same call may succeed later."""

    def __init__(
        self, message: str, *, endpoint: str | None = None, status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, endpoint=endpoint, status=status)


class QuotaExhaustedError(ConnectorError):
    """The CRM's daily allocation is used up (or under the reserve): stop cleanly, keep state."""


class SkippableError(ConnectorError):
    """One record cannot be processed; the run quarantines it and continues."""

    def __init__(self, message: str, *, record_id: str, endpoint: str | None = None,
                 status: int | None = None) -> None:
        self.record_id = record_id
        super().__init__(message, endpoint=endpoint, status=status)


class FatalError(ConnectorError):
    """The run cannot continue; fail it and tell the operator what to fix."""


class AuthenticationError(FatalError):
    """The CRM rejected the credentials or the token lacks a scope."""


class MissingFieldsError(FatalError):
    """Fields the worker owns do not exist (or are not writable) in the CRM."""

    def __init__(self, missing: list[str], how_to_fix: str) -> None:
        self.missing = missing
        self.how_to_fix = how_to_fix
        super().__init__(f"owned CRM fields missing or not writable: {', '.join(missing)}. {how_to_fix}")
