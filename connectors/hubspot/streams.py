"""HubSpot object streams: full pulls through the list endpoints, incremental pulls through search.

Incremental pulls filter ``hs_lastmodifieddate`` in ``[since, until)``, sorted
ascending. The search API answers at most 10,000 results per query, so a window
that reaches the cap is re-opened at the last timestamp seen (a closed start; the
worker's watermark drops the re-read ties). When a whole capped window shares one
timestamp, that timestamp is walked by ``hs_object_id`` instead, so bulk edits
stamped in the same millisecond can never loop forever.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import ObjectType
from connectors.errors import FatalError
from connectors.hubspot.client import HubSpotClient, page_check

LIST_PAGE = 100
SEARCH_PAGE = 200
SEARCH_CAP = 10_000
MAX_NOT_IN = 100
"""Most ids one NOT_IN filter carries: a conservative bound (the search guide,
developers.hubspot.com/docs/api/crm/search "Filter search results", takes a ``values`` list for IN and
NOT_IN; five filter groups of up to ten filters each since the August 2024 changelog,
developers.hubspot.com/changelog/breaking-change-expanded-filtering-capabilities-and-error-messaging-in-hubspots-search-api).
More ties than that are left out by ``hs_object_id`` greater than the largest of them instead
(``hs_object_id`` is a number property, compared as a number, like any GT filter in the guide)."""
ONE_MS = timedelta(milliseconds=1)
OBJECT_PAGE = page_check("id", properties=True)


@dataclass(frozen=True)
class ObjectStream:
    """How one worker object type maps onto a HubSpot object."""

    object_type: ObjectType
    hubspot_object: str
    api: str
    associations: tuple[str, ...] = ()
    cursor: str = "hs_lastmodifieddate"


STREAMS: dict[str, ObjectStream] = {
    "accounts": ObjectStream("accounts", "companies", "crm.companies"),
    "deals": ObjectStream("deals", "deals", "crm.deals", associations=("companies",)),
    "notes": ObjectStream("notes", "notes", "crm.objects.notes", associations=("companies", "deals")),
}


def to_ms(moment: datetime) -> str:
    """HubSpot's filter form of a time: epoch milliseconds as a string."""
    return str(int(moment.timestamp() * 1000))


def parse_time(value: Any) -> datetime | None:
    """A HubSpot timestamp (ISO-8601 or epoch ms) as an aware UTC datetime; None if absent."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value)
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


class AfterPaginator:
    """Follows ``paging.next.after``; refuses a repeated cursor and bounds the page count."""

    def __init__(self, endpoint: str, max_pages: int = 100_000) -> None:
        self.endpoint = endpoint
        self.after: str | None = None
        self.finished = False
        self.pages = 0
        self._max_pages = max_pages
        self._seen: set[str] = set()

    def advance(self, paging: Any) -> None:
        """Take the paging block of the page just read."""
        self.pages += 1
        following = getattr(getattr(paging, "next", None), "after", None) if paging is not None else None
        if following is None:
            self.finished = True
            return
        if following in self._seen:
            raise FatalError(f"{self.endpoint}: pagination loop, cursor {following!r} came back")
        if self.pages >= self._max_pages:
            raise FatalError(f"{self.endpoint}: more than {self._max_pages} pages; refusing to go on")
        self._seen.add(following)
        self.after = str(following)


def list_pages(client: HubSpotClient, stream: ObjectStream, properties: Sequence[str]) -> Iterator[list[Any]]:
    """Every record of the object through the list endpoint (no 10,000 cap), page by page."""
    endpoint = f"GET /crm/v3/objects/{stream.hubspot_object}"
    api = client.api(f"{stream.api}.basic_api")
    paginator = AfterPaginator(endpoint)
    while not paginator.finished:
        kwargs: dict[str, Any] = {"limit": LIST_PAGE, "properties": list(properties), "archived": False}
        if stream.associations:
            kwargs["associations"] = list(stream.associations)
        if paginator.after is not None:
            kwargs["after"] = paginator.after
        page = client.call_json(endpoint, api.get_page, expect=OBJECT_PAGE, **kwargs)
        paginator.advance(page.paging)
        yield list(page.results or [])


def _search_body(filters: list[dict[str, Any]] | list[list[dict[str, Any]]], sort: str, properties: Sequence[str],
                 after: int) -> dict[str, Any]:
    """A search request; ``filters`` is one group's filters, or several groups (any of which matches)."""
    groups = filters if filters and isinstance(filters[0], list) else [filters]
    return {
        "filterGroups": [{"filters": group} for group in groups],
        "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": SEARCH_PAGE,
        "after": str(after),
    }


class SearchWindows:
    """Incremental pages of one object by ``hs_lastmodifieddate`` in ``[since, until)``, re-windowed at the cap."""

    def __init__(self, client: HubSpotClient, stream: ObjectStream, properties: Sequence[str],
                 cap: int = SEARCH_CAP) -> None:
        self.client, self.stream, self.cap = client, stream, cap
        self.properties = list(dict.fromkeys([*properties, stream.cursor, "hs_object_id"]))
        self.endpoint = f"POST /crm/v3/objects/{stream.hubspot_object}/search"
        self._api = client.api(f"{stream.api}.search_api")

    def pages(self, since: datetime, until: datetime, seen_at_since: frozenset[str] = frozenset()
              ) -> Iterator[list[Any]]:
        """Pages in ascending modification order; records in ``seen_at_since`` stamped at ``since`` are left out
        (see :meth:`_past_ties`)."""
        start = since
        while start < until:
            filters: Any = [
                {"propertyName": self.stream.cursor, "operator": "GTE", "value": to_ms(start)},
                {"propertyName": self.stream.cursor, "operator": "LT", "value": to_ms(until)},
            ]
            if start == since and seen_at_since:
                filters = self._past_ties(since, until, seen_at_since) or filters
            last: Any = None
            capped = False
            for results, more in self._paged(filters, self.stream.cursor):
                capped = more
                if results:
                    last = results[-1]
                    yield results
            if not capped:
                return
            last_stamp = parse_time(last.properties.get(self.stream.cursor)) if last is not None else None
            if last_stamp is None:
                return
            if last_stamp <= start:
                yield from self._walk_one_timestamp(start)
                start = start + ONE_MS
            else:
                start = last_stamp

    def _past_ties(self, since: datetime, until: datetime, seen: frozenset[str]) -> list[list[dict[str, Any]]] | None:
        """Two filter groups: at ``since`` but not already seen, or after ``since`` (and before ``until``).

        Up to :data:`MAX_NOT_IN` seen ids are left out by name; more by ``hs_object_id`` above the largest.
        The seen ids are every record the search answered at ``since`` (the worker saves only whole ties, see
        :mod:`worker.ingest.watermark`), so both leave out the same records, unless the search index shows a
        record stamped ``since`` only after the ties were read and its id is lower: the same index delay
        that can hide any record stamped just before a run's start. None when the ids are not numbers
        (the ties are then read again and the worker drops them)."""
        cursor = self.stream.cursor
        if len(seen) <= MAX_NOT_IN:
            unseen = {"propertyName": "hs_object_id", "operator": "NOT_IN", "values": sorted(seen)}
        elif all(i.isdigit() for i in seen):
            unseen = {"propertyName": "hs_object_id", "operator": "GT", "value": str(max(int(i) for i in seen))}
        else:
            return None
        return [[{"propertyName": cursor, "operator": "EQ", "value": to_ms(since)}, unseen],
                [{"propertyName": cursor, "operator": "GT", "value": to_ms(since)},
                 {"propertyName": cursor, "operator": "LT", "value": to_ms(until)}]]

    def _walk_one_timestamp(self, stamp: datetime) -> Iterator[list[Any]]:
        last_id = "0"
        while True:
            filters = [
                {"propertyName": self.stream.cursor, "operator": "EQ", "value": to_ms(stamp)},
                {"propertyName": "hs_object_id", "operator": "GT", "value": last_id},
            ]
            capped = False
            for results, more in self._paged(filters, "hs_object_id"):
                capped = more
                if results:
                    last_id = str(results[-1].id)
                    yield results
            if not capped:
                return

    def _paged(self, filters: Any, sort: str) -> Iterator[tuple[list[Any], bool]]:
        """(results, capped) per page; capped is True when the cap stops paging before the end."""
        offset = 0
        paginator = AfterPaginator(self.endpoint)
        while True:
            body = _search_body(filters, sort, self.properties, offset)
            page = self.client.call_json(self.endpoint, self._api.do_search, body, search=True, expect=OBJECT_PAGE)
            paginator.advance(page.paging)
            results = list(page.results or [])
            offset += len(results)
            if paginator.finished or not results:
                yield results, False
                return
            if offset + SEARCH_PAGE > self.cap:
                yield results, True
                return
            yield results, False
            offset = int(paginator.after or offset)
