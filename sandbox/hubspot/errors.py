"""HubSpot's error bodies."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sandbox.hubspot.schema import InvalidValue
from sandbox.ratelimit import DAILY, SECONDLY, TEN_SECONDLY
from sandbox.server import Response

__all__ = ["error", "error_body", "validation_failed", "rate_limited", "standard_error", "CATEGORY_BY_STATUS"]

CATEGORY_BY_STATUS: dict[int, str] = {
    400: "VALIDATION_ERROR",
    401: "INVALID_AUTHENTICATION",
    403: "MISSING_SCOPES",
    404: "OBJECT_NOT_FOUND",
    409: "CONFLICT",
    429: "RATE_LIMITS",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}

_RATE_MESSAGES = {
    TEN_SECONDLY: "You have reached your ten_secondly_rolling limit.",
    DAILY: "You have reached your daily limit.",
    SECONDLY: "You have reached your secondly limit.",
}


def error_body(message: str, category: str, **extra: Any) -> dict[str, Any]:
    """`{"status":"error","message",...,"correlationId","category"}` plus extra members."""
    return {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category, **extra}


def error(status: int, message: str | None = None, category: str | None = None, **extra: Any) -> Response:
    """An error response with HubSpot's body."""
    category = category or CATEGORY_BY_STATUS.get(status, "ERROR")
    return Response(status, error_body(message or f"HTTP {status}", category, **extra))


def validation_failed(errors: list[InvalidValue]) -> Response:
    """400 for rejected property values, listing each problem as HubSpot does."""
    detail = json.dumps([e.to_json() for e in errors])
    return error(400, f"Property values were not valid: {detail}", "VALIDATION_ERROR")


def rate_limited(policy: str, retry_after: float | None) -> Response:
    """429 with HubSpot's rate-limit body (policyName TEN_SECONDLY_ROLLING, DAILY or SECONDLY)."""
    body = {"status": "error", "message": _RATE_MESSAGES[policy], "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()), "policyName": policy,
            "groupName": "publicapi:private-app:sandbox"}
    headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
    return Response(429, body, headers)


def standard_error(category: str, message: str, context: dict[str, list[str]], **extra: Any) -> dict[str, Any]:
    """A StandardError entry of a 207 batch response."""
    return {"status": "error", "category": category, "message": message, "context": context,
            "links": {}, "errors": [], **extra}
