"""The connector's own ``requests.Session``: a timeout and explicit TLS trust on every call, counted.

simple-salesforce sets no timeout anywhere and some of its methods take no request arguments, so
the session supplies them. ``verify`` is passed on every request because ``requests`` otherwise
lets ``REQUESTS_CA_BUNDLE`` override a session's own CA bundle. Every response's
``Sforce-Limit-Info`` header is read here, whichever library path made the call (the library
itself only reads it on some paths).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

__all__ = ["ApiUsage", "SalesforceSession", "endpoint_name", "parse_limit_info", "TLS_FAILURE", "TLS_STATUS"]

TLS_STATUS = 495
TLS_FAILURE = ("TLS certificate verification failed; set ca_bundle to the CA that signed the org's certificate "
               "(never turn verification off)")

_DATA_PREFIX = re.compile(r"^/services/data/v[\d.]+/")
_RECORD_ID = re.compile(r"^[a-zA-Z0-9]{3}[a-zA-Z0-9]*\d[a-zA-Z0-9]*$")
_USAGE = re.compile(r"(?:^|[;,\s])api-usage=(\d+)/(\d+)")


@dataclass(frozen=True)
class ApiUsage:
    """The org's daily API requests: used and allowed (rolling 24 hours)."""

    used: int
    total: int

    @property
    def remaining(self) -> int:
        """Requests left today."""
        return max(self.total - self.used, 0)


def parse_limit_info(header: str | None) -> ApiUsage | None:
    """``api-usage=18/5000`` (from ``Sforce-Limit-Info``) as :class:`ApiUsage`."""
    match = _USAGE.search(header or "")
    return ApiUsage(int(match.group(1)), int(match.group(2))) if match else None


def _segment(parts: list[str], i: int) -> str:
    part = parts[i]
    if i > 0 and parts[i - 1] in ("query", "queryAll"):
        return "{locator}"
    if len(parts) == 4 and parts[0] == "sobjects" and i == 3:
        return "{value}"
    if len(part) in (15, 18) and _RECORD_ID.match(part):
        return "{id}"
    return part


def endpoint_name(method: str, url: str) -> str:
    """A stable name for counting: ``GET query``, ``PATCH composite/sobjects``, ``PUT jobs/ingest/{id}/batches``."""
    path = urlsplit(url).path
    if _DATA_PREFIX.match(path):
        parts = [p for p in _DATA_PREFIX.sub("", path).split("/") if p]
        path = "/".join(_segment(parts, i) for i in range(len(parts)))
    elif path.startswith("/services/Soap/u/"):
        path = "Soap/u/login"
    else:
        path = path.removeprefix("/services/").strip("/")
    return f"{method.upper()} {path}"


def _labelled(name: str, label: str) -> str:
    """``GET query/{locator}`` labelled ``AccountHistory``: ``GET query AccountHistory/{locator}``."""
    if not label:
        return name
    method, _, path = name.partition(" ")
    first, slash, rest = path.partition("/")
    return f"{method} {first} {label}{slash}{rest}"


class SalesforceSession(requests.Session):
    """A session with a default timeout, an explicit CA bundle, call counts, the last API usage seen, and the
    last ``Date`` header with the local time it arrived (for clock checks)."""

    def __init__(self, timeout: tuple[float, float], ca_bundle: str | None = None) -> None:
        super().__init__()
        self.timeout = timeout
        self.verify = ca_bundle or True
        self.calls: Counter[str] = Counter()
        self.label = ""
        """Counts calls apart while set: ``GET query AccountHistory`` instead of ``GET query``."""
        self.usage: ApiUsage | None = None
        self.last_date: tuple[str, datetime] | None = None
        adapter = HTTPAdapter(max_retries=0)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """Send with the session's timeout and CA bundle unless the caller set them; count and read usage."""
        kwargs.setdefault("timeout", self.timeout)
        if kwargs.get("verify") is None:
            kwargs["verify"] = self.verify
        method_text = method.decode() if isinstance(method, bytes) else method
        url_text = url.decode() if isinstance(url, bytes) else url
        self.calls[_labelled(endpoint_name(method_text, url_text), self.label)] += 1
        response = super().request(method_text, url_text, *args, **kwargs)
        if response.headers.get("Date"):
            self.last_date = (response.headers["Date"], datetime.now(UTC))
        usage = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
        if usage is not None:
            self.usage = usage
        return response
