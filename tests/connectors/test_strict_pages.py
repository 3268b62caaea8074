"""Strict pages: a list, search or query page that does not parse, or lacks what a page must carry, is a
retriable error, never an empty last page; the watermark moves only past rows that are stored.

Every case runs over real HTTP against the sandbox CRMs, with faults injected by ``sandbox.faults``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from connectors.base import PullRequest
from connectors.errors import FatalError, RetriableError
from tests.contract.harness import (
    HubSpotHarness,
    SalesforceHarness,
    hubspot_harness,
    make_context,
    ready_context,
    salesforce_harness,
)
from worker.operate.cycle import run_cycle
from worker.store import Account, SyncWatermark

LIST = "GET /crm/v3/objects/companies"
SEARCH = "POST /crm/v3/objects/companies/search"
OWNERS = "GET /crm/v3/owners/"
QUERY = "GET /services/data/v{version}/query"
MORE = "GET /services/data/v{version}/query/{locator}"
FAR = datetime(2030, 1, 1, tzinfo=UTC)
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "salesforce"
HTML = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"

#: Bodies answering 200 that are not a page: HTML, text, cut-off JSON, control characters, wrong shapes.
BROKEN_HUBSPOT: dict[str, dict[str, Any]] = {
    "html": {"raw": HTML, "headers": {"Content-Type": "text/html"}},
    "text": {"raw": "upstream connect error or disconnect/reset before headers"},
    "truncated": {"raw": '{"results": [{"id": "1", "properties": {"name": "Acme'},
    "control characters": {"raw": b"\x00\x01\x02\x1b[2J\x7f"},
    "empty body": {"raw": b""},
    "no results": {"body": {"status": "ok"}},
    "results not a list": {"body": {"results": "nothing"}},
    "result without id": {"body": {"results": [{"properties": {"name": "x"}}], "paging": {"next": {"after": "5"}}}},
    "next without after": {"body": {"results": [], "paging": {"next": {"link": "x"}}}},
}


@pytest.fixture
def hs() -> Iterator[HubSpotHarness]:
    with hubspot_harness(accounts=450) as harness:
        yield harness


def _pull_ids(connector: Any, since: datetime | None = None) -> list[str]:
    request = PullRequest("accounts", ["name"], until=FAR, since=since)
    return [r.id for page in connector.pull(request) for r in page.records]


@pytest.mark.parametrize("case", sorted(BROKEN_HUBSPOT))
def test_hubspot_broken_list_page_is_retried_not_taken_as_the_end(hs: HubSpotHarness, case: str) -> None:
    """A broken third page is read again; every company arrives."""
    hs.server.faults.add(LIST, 200, skip=2, times=2, **BROKEN_HUBSPOT[case])
    assert sorted(_pull_ids(hs.connector)) == sorted(hs.account_ids())
    assert hs.server.calls[LIST] == 5 + 2


@pytest.mark.parametrize("cut", ["drop", "truncate"])
def test_hubspot_dropped_or_truncated_page_is_retried(hs: HubSpotHarness, cut: str) -> None:
    """A connection closed without an answer, or half a body, is retried."""
    hs.server.faults.add(LIST, 200, skip=1, after=True, cut=cut)  # type: ignore[arg-type]
    assert len(_pull_ids(hs.connector)) == 450


def test_hubspot_broken_search_page_is_retried(hs: HubSpotHarness) -> None:
    """Incremental (search) pages are checked the same way."""
    hs.server.faults.add(SEARCH, 200, raw=HTML, times=2)
    assert len(_pull_ids(hs.connector, since=datetime(2000, 1, 1, tzinfo=UTC))) == 450


def test_hubspot_persistently_broken_page_is_a_named_error(hs: HubSpotHarness) -> None:
    """When the page never comes right, the error says so (retriable, never a silent end)."""
    hs.server.faults.add(LIST, 200, raw=HTML, skip=1, times=20)
    with pytest.raises(RetriableError, match="malformed response: the response is not a JSON object"):
        _pull_ids(hs.connector)


def test_hubspot_owner_pagination_loop_is_refused(hs: HubSpotHarness) -> None:
    """An owners cursor that comes back is a loop, refused; not a quiet end of the owners."""
    page = {"results": [{"id": "9", "email": "a@example.com", "archived": False}],
            "paging": {"next": {"after": "again"}}}
    hs.server.faults.add(OWNERS, 200, body=page, times=2)
    with pytest.raises(FatalError, match="pagination loop"):
        list(hs.connector.pull(PullRequest("owners", [], until=FAR)))


def _watermark(engine: Engine, object_type: str) -> SyncWatermark | None:
    with Session(engine) as session:
        return session.get(SyncWatermark, ("main", object_type))


def _stored_accounts(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(Account)).scalar_one())


def test_first_sync_with_a_broken_page_fails_keeps_no_watermark_and_resumes(engine: Engine,
                                                                             hs: HubSpotHarness) -> None:
    """The issue's case: page 3 answers HTML with 200. The run fails (not ok with 200 of 450), the
    full pull's watermark is not saved, and the next run pulls every account."""
    ctx = ready_context(engine, hs.connector)
    hs.server.faults.add(LIST, 200, raw=HTML, skip=2, times=50)
    first = run_cycle(ctx, hs.connector)
    assert first.status == "failed" and "malformed response" in (first.message or "")
    assert 0 < first.pulled["accounts"] == _stored_accounts(engine) < 450  # what was done is reported
    assert _watermark(engine, "accounts") is None
    hs.server.faults.clear()
    second = run_cycle(ctx, hs.connector)
    assert second.status == "ok" and second.pulled["accounts"] == 450
    assert _stored_accounts(engine) == 450


# -- Salesforce ------------------------------------------------------------------------------------

BROKEN_SALESFORCE: dict[str, dict[str, Any]] = {
    "html": {"raw": HTML, "headers": {"Content-Type": "text/html"}},
    "truncated": {"raw": '{"totalSize": 450, "done": false, "records": [{"Id": "001'},
    "control characters": {"raw": b"\x00\x01\x02\x1b[2J"},
    "no records": {"body": {"totalSize": 450, "done": True}},
    "no done flag": {"body": {"totalSize": 450, "records": []}},
    "not done without next url": {"body": {"totalSize": 450, "done": False, "records": []}},
    "record without Id": {"body": {"totalSize": 1, "done": True, "records": [{"Name": "x"}]}},
    "a list": {"body": [{"message": "Session expired", "errorCode": "INVALID_SESSION_ID"}]},
}


@pytest.fixture
def sf() -> Iterator[SalesforceHarness]:
    with salesforce_harness(accounts=450, query_batch_size=200) as harness:
        yield harness


@pytest.mark.parametrize("case", sorted(BROKEN_SALESFORCE))
def test_salesforce_broken_query_page_is_retried_not_taken_as_the_end(sf: SalesforceHarness, case: str) -> None:
    """A broken second query page (queryMore) is read again; every account arrives."""
    sf.server.faults.add(MORE, 200, times=2, **BROKEN_SALESFORCE[case])
    assert sorted(_pull_ids(sf.connector)) == sorted(sf.account_ids())


def test_salesforce_broken_first_page_is_retried(sf: SalesforceHarness) -> None:
    """The first page of a query is checked too."""
    sf.server.faults.add(QUERY, 200, body={"totalSize": 0}, times=2)
    assert len(_pull_ids(sf.connector)) == 450


def test_salesforce_pagination_loop_is_refused(sf: SalesforceHarness) -> None:
    """A nextRecordsUrl that comes back is a loop, refused."""
    page = {"totalSize": 450, "done": False, "records": [{"Id": "001000000000001AAA"}],
            "nextRecordsUrl": "/services/data/v62.0/query/01gLOOP-200"}
    sf.server.faults.add(MORE, 200, body=page, times=3)
    with pytest.raises(FatalError, match="pagination loop"):
        _pull_ids(sf.connector)


def test_salesforce_broken_page_moves_the_watermark_only_past_stored_rows(engine: Engine,
                                                                          sf: SalesforceHarness) -> None:
    """Ordered pages checkpoint as they go: after a persistent fault on page 2 the run fails, the
    watermark stands at the last stored row, and the next run pulls the rest."""
    sf.server.deploy(DEPLOY)
    ctx = make_context(engine, "salesforce")
    sf.server.faults.add(MORE, 200, body={"totalSize": 450}, times=50)
    first = run_cycle(ctx, sf.connector)
    assert first.status == "failed" and "malformed response" in (first.message or "")
    stored = _stored_accounts(engine)
    assert 0 < first.pulled.get("accounts", 0) == stored < 450
    mark = _watermark(engine, "accounts")
    assert mark is not None and mark.value is not None
    with Session(engine) as session:
        newest = session.execute(select(func.max(Account.modified_at))).scalar_one()
    assert mark.value.replace(tzinfo=UTC) <= newest.replace(tzinfo=UTC)
    sf.server.faults.clear()
    second = run_cycle(ctx, sf.connector)
    assert second.status == "ok" and _stored_accounts(engine) == 450
