"""Salesforce object streams: SOQL by SystemModstamp in bounded half-open windows, paged by nextRecordsUrl.

Every pull is ``SystemModstamp >= start AND SystemModstamp < end ORDER BY SystemModstamp, Id``, so
pages arrive in ascending modification order and the worker may checkpoint after each one. An
incremental pull starts ``lookback`` before the watermark and walks ``[since - lookback, until)``
in windows of at most ``window`` (the look-back shortened by where the previous pull stopped, see
:func:`windows`); it uses queryAll so deleted rows (``IsDeleted``) arrive too. SOQL
datetime literals have no milliseconds (``format_soql`` drops them), so window bounds are whole
seconds: the start rounds down (re-reads a little, which the watermark deduplicates) and so does
the end (the rest is read by the next run).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from simple_salesforce.api import Salesforce
from simple_salesforce.format import format_soql

from connectors.base import ObjectType, RawRecord
from connectors.errors import FatalError
from connectors.salesforce.client import SalesforceClient

__all__ = ["ObjectStream", "STREAMS", "NextRecordsUrlPaginator", "windows", "window_soql", "query_pages",
           "parse_time", "to_record", "check_query_page", "ACCOUNT_PREFIX", "OPPORTUNITY_PREFIX"]

CURSOR = "SystemModstamp"
ACCOUNT_PREFIX, OPPORTUNITY_PREFIX = "001", "006"


@dataclass(frozen=True)
class ObjectStream:
    """How one worker object type maps onto an sObject; ``required`` fields are always selected."""

    object_type: ObjectType
    sobject: str
    required: tuple[str, ...]


STREAMS: dict[str, ObjectStream] = {
    "accounts": ObjectStream("accounts", "Account", ("Id", CURSOR, "IsDeleted")),
    "deals": ObjectStream("deals", "Opportunity", ("Id", "AccountId", "IsWon", "IsClosed", "StageName", "CloseDate",
                                                   "CreatedDate", "Amount", CURSOR, "IsDeleted")),
    "notes": ObjectStream("notes", "Note", ("Id", "ParentId", CURSOR, "IsDeleted")),
    "owners": ObjectStream("owners", "User", ("Id", "Username", "Email", "FirstName", "LastName", "IsActive",
                                              CURSOR)),
}


def parse_time(value: Any) -> datetime | None:
    """A Salesforce datetime (``2026-11-01T12:00:00.000+0000``) as an aware UTC datetime; None if absent."""
    if value is None or value == "":
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def windows(since: datetime | None, until: datetime, size: timedelta, lookback: timedelta,
            previous_until: datetime | None = None) -> list[tuple[datetime | None, datetime]]:
    """Half-open ``[start, end)`` windows covering ``[since - lookback, until)``; one open window on a full pull.

    The look-back is for records committed after the previous pull read them, with a SystemModstamp
    from before (a long transaction). The previous pull, which stopped at ``previous_until``, saw
    every record stamped more than ``lookback`` before that; so the look-back starts at
    ``previous_until - lookback`` when that is later, and not at all when the watermark is older still
    (the run after a write-back then no longer re-reads it every night).
    """
    if since is None:
        return [(None, until)]
    start = since - lookback
    if previous_until is not None:
        start = min(since, max(start, previous_until - lookback))
    out: list[tuple[datetime | None, datetime]] = []
    while start < until:
        end = min(start + size, until)
        out.append((start, end))
        start = end
    return out


def window_soql(sobject: str, fields: Sequence[str], start: datetime | None, end: datetime) -> str:
    """The SOQL of one window; field names come from describe, values through ``format_soql``."""
    select = f"SELECT {', '.join(fields)} FROM {sobject} WHERE "
    if start is None:
        where = format_soql("SystemModstamp < {end}", end=end)
    else:
        where = format_soql("SystemModstamp >= {start} AND SystemModstamp < {end}", start=start, end=end)
    return select + where + " ORDER BY SystemModstamp, Id"


class NextRecordsUrlPaginator:
    """Follows ``nextRecordsUrl`` while ``done`` is false; refuses a repeated URL and bounds the page count."""

    def __init__(self, endpoint: str, max_pages: int = 100_000) -> None:
        self.endpoint = endpoint
        self.next_url: str | None = None
        self.finished = False
        self.pages = 0
        self._max_pages = max_pages
        self._seen: set[str] = set()

    def advance(self, result: dict[str, Any]) -> None:
        """Take the result of the page just read."""
        self.pages += 1
        following = None if result["done"] else result["nextRecordsUrl"]
        if not following:
            self.finished = True
            return
        if following in self._seen:
            raise FatalError(f"{self.endpoint}: pagination loop, {following!r} came back")
        if self.pages >= self._max_pages:
            raise FatalError(f"{self.endpoint}: more than {self._max_pages} pages; refusing to go on")
        self._seen.add(following)
        self.next_url = str(following)


def check_query_page(result: Any, key: str | None = "Id") -> str | None:
    """What a query page lacks, or None when it is whole.

    A REST query answer is ``{"totalSize": n, "done": bool, "records": [...], "nextRecordsUrl": ...}``
    with ``nextRecordsUrl`` present while ``done`` is false (REST API Developer Guide, "Execute a
    SOQL Query"; QueryResult in the SOAP API Developer Guide); each row carries ``key`` when the
    query selects it. A page without them is not an empty last page but a malformed answer, retried.
    """
    if not isinstance(result, dict):
        return "not a query result object"
    if not isinstance(result.get("records"), list):
        return "no records list"
    if not isinstance(result.get("done"), bool) or not isinstance(result.get("totalSize"), int):
        return "no done flag or totalSize"
    if not result["done"] and not isinstance(result.get("nextRecordsUrl"), str):
        return "done is false but there is no nextRecordsUrl"
    for index, row in enumerate(result["records"]):
        if not isinstance(row, dict) or (key is not None and not row.get(key)):
            return f"record {index} has no {key or 'fields'}"
    return None


def query_pages(client: SalesforceClient, soql: str, include_deleted: bool = False,
                batch_size: int = 2000, label: str = "") -> Iterator[list[dict[str, Any]]]:
    """Record pages of a query (queryAll when ``include_deleted``), ``batch_size`` rows at a time.

    Every page is checked (:func:`check_query_page`); a malformed one is retried, never taken as the end.
    A ``label`` counts the calls apart (``GET query AccountHistory``), so that figures can tell them
    from the object pulls.
    """
    endpoint = "GET queryAll" if include_deleted else "GET query"
    headers = {"Sforce-Query-Options": f"batchSize={batch_size}"}
    paginator = NextRecordsUrlPaginator(endpoint)
    selects_id = re.search(r"\bId\b", soql.split(" FROM ", 1)[0]) is not None

    def check(result: Any) -> str | None:
        return check_query_page(result, "Id" if selects_id else None)

    result = _labelled(client, label, endpoint, lambda sf: sf.query(soql, include_deleted=include_deleted,
                                                                    headers=headers), check)
    while True:
        yield [{k: v for k, v in r.items() if k != "attributes"} for r in result["records"]]
        paginator.advance(result)
        if paginator.finished:
            return
        url = str(paginator.next_url)
        result = _labelled(client, label, f"{endpoint}/{{locator}}", _query_more(url, headers), check)


def _query_more(url: str, headers: dict[str, str]) -> Callable[[Salesforce], Any]:
    """The call reading the page at ``url``, bound to this page's address."""
    return lambda sf: sf.query_more(url, identifier_is_url=True, headers=headers)


def _labelled(client: SalesforceClient, label: str, endpoint: str, call: Callable[[Salesforce], Any],
              check: Callable[[Any], str | None]) -> Any:
    """One query call, counted under ``label`` (see :class:`connectors.salesforce.session.SalesforceSession`)."""
    client.session.label = label
    try:
        return client.call(endpoint, call, expect=check)
    finally:
        client.session.label = ""


def _outcome(row: dict[str, Any]) -> str:
    """won / lost / open from IsClosed and IsWon, which Salesforce derives from the stage's definition."""
    if not row.get("IsClosed"):
        return "open"
    return "won" if row.get("IsWon") else "lost"


def to_record(stream: ObjectStream, row: dict[str, Any]) -> RawRecord:
    """A raw record from a query row, with the derived facts the worker needs."""
    derived: dict[str, Any] = {}
    properties = dict(row)
    if stream.object_type == "deals":
        derived = {"outcome": _outcome(row), "account_id": row.get("AccountId"),
                   "account_ids": [row["AccountId"]] if row.get("AccountId") else []}
    elif stream.object_type == "notes":
        parent = str(row.get("ParentId") or "")
        derived = {"account_id": parent if parent.startswith(ACCOUNT_PREFIX) else None,
                   "deal_id": parent if parent.startswith(OPPORTUNITY_PREFIX) else None}
    elif stream.object_type == "owners":
        properties |= {"email": row.get("Email"), "firstName": row.get("FirstName"),
                       "lastName": row.get("LastName"), "archived": not row.get("IsActive", True)}
    return RawRecord(stream.object_type, str(row["Id"]), parse_time(row.get(CURSOR)), properties, derived,
                     deleted=bool(row.get("IsDeleted")))
