"""A thin, safe layer over hubspot-api-client: timeouts, pacing, call counts and error translation.

The SDK has no default timeout, a separate ``ApiException`` per sub-package and
urllib3 retries that skip POST. So the SDK's own retries are off; every call goes
through :meth:`HubSpotClient.call`, which paces it, times it out, counts it and
translates any failure into the typed errors of :mod:`connectors.errors`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import urllib3
from hubspot import HubSpot

from connectors.errors import ConnectorError
from connectors.http import Failure, RateLimiter, Retrier, RetryPolicy, classify, malformed, network_failure
from connectors.hubspot.jsonview import JsonView

T = TypeVar("T")
WINDOW_MARGIN = (0.1, 0.05)
"""Seconds added to the 10-second and 1-second windows the client paces by: requests reach HubSpot a
little later and less evenly than they leave, so pacing at exactly the limit would draw a 429 now
and then."""
Check = Callable[[Any], str | None]
_UNREADABLE = (AttributeError, TypeError, ValueError, KeyError)


def page_check(id_field: str = "id", properties: bool = False) -> Check:
    """A check of a collection page: a ``results`` list whose items carry ``id_field`` (and a
    ``properties`` object), and a ``paging.next`` that names its ``after`` cursor.

    HubSpot's collection responses always carry ``results`` (required in the CRM v3 OpenAPI
    schemas, e.g. ``CollectionResponseSimplePublicObjectWithAssociationsForwardPaging``) and every
    ``NextPage`` its ``after``. The SDK turns a body that is not JSON, or an HTML page answering 200,
    into a page with no results and no paging, which would read as an empty last page; the check
    makes it a retriable error instead.
    """
    def check(page: Any) -> str | None:
        results = getattr(page, "results", None)
        if not isinstance(results, list):
            return "no results list (a body that is not JSON, an HTML page, or not a page)"
        for index, item in enumerate(results):
            if getattr(item, id_field, None) in (None, ""):
                return f"result {index} has no {id_field.strip('_')}"
            if properties and not isinstance(getattr(item, "properties", None), Mapping):
                return f"result {index} has no properties object"
        following = getattr(getattr(page, "paging", None), "next", None)
        if following is not None and getattr(following, "after", None) in (None, ""):
            return "paging.next has no after cursor"
        return None
    return check


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    try:
        value = headers.get(name)
    except AttributeError:
        return None
    return str(value) if value is not None else None


def _parse_body(body: Any) -> dict[str, Any]:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {"message": body[:200]}
    return parsed if isinstance(parsed, dict) else {}


def to_failure(endpoint: str, exc: Exception, record_id: str | None = None) -> Failure | None:
    """Reduce an SDK or urllib3 exception to a :class:`Failure`; None when it is neither."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and hasattr(exc, "body"):
        body = _parse_body(getattr(exc, "body", None))
        retry_after = _header(getattr(exc, "headers", None), "Retry-After")
        return Failure(
            endpoint=endpoint,
            status=status,
            message=str(body.get("message") or getattr(exc, "reason", "") or "")[:300],
            code=body.get("policyName") or body.get("category"),
            retry_after=float(retry_after) if retry_after and retry_after.replace(".", "", 1).isdigit() else None,
            record_id=record_id,
        )
    if isinstance(exc, (urllib3.exceptions.HTTPError, OSError)):
        return network_failure(endpoint, exc)
    return None


def _decode(endpoint: str, body: bytes, record_id: str | None) -> JsonView:
    """A 2xx body as a JSON object; anything else is a failed call (status 0, retriable) naming the endpoint."""
    try:
        decoded = json.loads(body)
    except ValueError:
        decoded = None
    if not isinstance(decoded, dict):
        shown = body[:80].decode("utf-8", "replace").encode("unicode_escape").decode("ascii")
        raise classify(malformed(endpoint, f"the response is not a JSON object: {shown!r}"))
    return JsonView(decoded)


class HubSpotClient:
    """One portal's SDK client with pacing, timeouts and call counting."""

    def __init__(
        self,
        access_token: str,
        base_url: str,
        timeout: tuple[float, float] = (5.0, 60.0),
        per_10s: int = 90,
        search_per_second: int = 4,
        retry: RetryPolicy | None = None,
        on_retry: Callable[[Any, int, float], None] | None = None,
    ) -> None:
        self.sdk = HubSpot(access_token=access_token, host=base_url.rstrip("/"), base_url=base_url.rstrip("/"),
                           retry=urllib3.util.Retry(total=0, connect=2, read=0, redirect=2, status=0))
        self.timeout = timeout
        self.calls: Counter[str] = Counter()
        self._burst = RateLimiter(per_10s, 10.0 + WINDOW_MARGIN[0])
        self._search = RateLimiter(search_per_second, 1.0 + WINDOW_MARGIN[1])
        self._retrier = Retrier(retry or RetryPolicy(), on_retry=on_retry)
        self._apis: dict[str, Any] = {}

    def api(self, path: str) -> Any:
        """A cached SDK api object, e.g. ``api("crm.companies.basic_api")`` (each lookup builds a pool)."""
        if path not in self._apis:
            target: Any = self.sdk
            for part in path.split("."):
                target = getattr(target, part)
            self._apis[path] = target
        return self._apis[path]

    def call(self, endpoint: str, fn: Callable[..., T], *args: Any, search: bool = False,
             record_id: str | None = None, retry: bool = True, expect: Check | None = None, **kwargs: Any) -> T:
        """Call an SDK method with pacing, a timeout, retries and typed errors.

        ``retry=False`` makes one attempt only: for calls that are not idempotent (creating tasks),
        whose caller looks the records up before sending again. With ``expect`` the answer is checked
        (see :func:`page_check`): a problem, or an answer the SDK could not even read, is a malformed
        response, retried like a 5xx.
        """
        def attempt() -> T:
            (self._search if search else self._burst).acquire()
            self.calls[endpoint] += 1
            try:
                result = fn(*args, _request_timeout=self.timeout, **kwargs)
            except Exception as exc:  # noqa: BLE001 - translated below; anything else re-raised
                failure = to_failure(endpoint, exc, record_id)
                if failure is None and expect is not None and isinstance(exc, _UNREADABLE):
                    failure = malformed(endpoint, f"the SDK could not read it ({type(exc).__name__})")
                if failure is None:
                    raise
                raise classify(failure) from None
            problem = expect(result) if expect is not None else None
            if problem is not None:
                raise classify(malformed(endpoint, problem))
            return result
        return self._retrier.run(attempt) if retry else attempt()

    def call_json(self, endpoint: str, fn: Callable[..., Any], *args: Any, search: bool = False,
                  record_id: str | None = None, expect: Check | None = None, retry: bool = True,
                  **kwargs: Any) -> JsonView:
        """Like :meth:`call`, but the body is decoded here into a :class:`JsonView`, not into SDK models.

        The SDK still builds the request and raises on an error status; a body that is not a JSON
        object (an HTML page, a truncated answer) is a malformed response, retried; so is one that
        ``expect`` (see :func:`page_check`) finds lacking. ``retry=False``: one attempt (see :meth:`call`).
        """
        def attempt() -> JsonView:
            (self._search if search else self._burst).acquire()
            self.calls[endpoint] += 1
            try:
                response = fn(*args, _request_timeout=self.timeout, _preload_content=False, **kwargs)
                try:
                    body = response.data
                finally:
                    response.release_conn()
            except Exception as exc:  # noqa: BLE001 - translated below; anything else re-raised
                failure = to_failure(endpoint, exc, record_id)
                if failure is None:
                    raise
                raise classify(failure) from None
            decoded = _decode(endpoint, body, record_id)
            problem = expect(decoded) if expect is not None else None
            if problem is not None:
                raise classify(malformed(endpoint, problem))
            return decoded
        return self._retrier.run(attempt) if retry else attempt()

    def retrying(self, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` (which makes its calls with ``retry=False``) under this client's retry policy."""
        return self._retrier.run(attempt)

    def close(self) -> None:
        """Drop cached api objects and their connection pools."""
        self._apis.clear()


__all__ = ["ConnectorError", "HubSpotClient", "page_check", "to_failure"]
