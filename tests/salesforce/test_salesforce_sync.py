"""Incremental pulls: windows, look-back, deletions through queryAll, Opportunities re-queueing Accounts, notes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from connectors.base import PullRequest
from connectors.errors import FatalError
from connectors.salesforce.streams import NextRecordsUrlPaginator, window_soql, windows
from tests.contract.harness import WORLD_NOW, SalesforceHarness
from worker.context import Context
from worker.ingest.sync import Sync
from worker.store import Account, Deal, EvidenceNoteRow, SyncWatermark

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.mark.parametrize(("since", "until", "expected"), [
    (None, T0, [(None, T0)]),
    (T0, T0 + DAY, [(T0 - timedelta(minutes=10), T0 + DAY)]),
    (T0, T0 + 3 * DAY, [(T0 - timedelta(minutes=10), T0 + 2 * DAY - timedelta(minutes=10)),
                        (T0 + 2 * DAY - timedelta(minutes=10), T0 + 3 * DAY)]),
    (T0 + DAY, T0, []),
])
def test_windows_are_half_open_and_start_a_look_back_early(since: datetime | None, until: datetime,
                                                           expected: list[tuple[datetime | None, datetime]]) -> None:
    """Windows tile [since - look-back, until) without gaps or overlap, at most the window size each."""
    assert windows(since, until, 2 * DAY, timedelta(minutes=10)) == expected


def test_window_soql_is_closed_open_ordered_and_escaped() -> None:
    """Bounds are format_soql literals (UTC, whole seconds); the order is SystemModstamp, then Id."""
    soql = window_soql("Account", ["Id", "Name"], T0 + timedelta(milliseconds=1500), T0 + DAY)
    assert soql == ("SELECT Id, Name FROM Account WHERE SystemModstamp >= 2026-01-01T00:00:01+00:00 AND "
                    "SystemModstamp < 2026-01-02T00:00:00+00:00 ORDER BY SystemModstamp, Id")


def test_paginator_refuses_a_repeated_next_records_url() -> None:
    """A nextRecordsUrl that comes back is a loop, not more data."""
    paginator = NextRecordsUrlPaginator("GET query")
    paginator.advance({"done": False, "nextRecordsUrl": "/q/1-200"})
    with pytest.raises(FatalError, match="pagination loop"):
        paginator.advance({"done": False, "nextRecordsUrl": "/q/1-200"})


def _sync(ctx: Context, sf: SalesforceHarness, hours: float) -> dict[str, int]:
    started = WORLD_NOW + timedelta(hours=hours)
    sf.set_clock(started)
    return dict(Sync(ctx.engine, ctx.name, sf.connector, ctx.mapping, "t").run(started).pulled)


@pytest.mark.parametrize("sf_options", [{"query_batch_size": 200}])
def test_pages_follow_next_records_url_at_the_batch_size(ctx: Context, sf: SalesforceHarness) -> None:
    """250 Accounts at batchSize=200 arrive in two pages: one query and one nextRecordsUrl call."""
    before = sf.connector.calls["GET query/{locator}"]
    pages = list(sf.connector.pull(PullRequest("accounts", ["Name"], until=WORLD_NOW)))
    assert [len(p.records) for p in pages] == [200, 50] and all(p.ordered for p in pages)
    assert sf.connector.calls["GET query/{locator}"] == before + 1
    stamps = [r.modified_at for p in pages for r in p.records]
    assert stamps == sorted(stamps)  # type: ignore[type-var]


def test_look_back_rereads_are_dropped_by_the_watermark(ctx: Context, sf: SalesforceHarness) -> None:
    """An incremental pull re-emits the look-back; the sync keeps none of it, so nothing is counted twice."""
    mark = WORLD_NOW + timedelta(hours=1)
    ids = sf.account_ids()
    sf.stamp_accounts(ids[:5], mark - timedelta(minutes=5))
    sf.stamp_accounts(ids[5:10], mark)
    _sync(ctx, sf, 2)
    pulled = [r for p in sf.connector.pull(PullRequest("accounts", ["Name"], until=WORLD_NOW + timedelta(hours=3),
                                                       since=mark)) for r in p.records]
    assert {r.id for r in pulled if r.modified_at is not None and r.modified_at < mark} == set(ids[:5])
    assert _sync(ctx, sf, 3)["accounts"] == 0


def test_deletions_arrive_through_query_all(ctx: Context, sf: SalesforceHarness) -> None:
    """A record moved to the recycle bin comes back as deleted and is marked so in the store."""
    _sync(ctx, sf, 2)
    gone = sf.account_ids()[3]
    sf.server.delete("Account", gone, WORLD_NOW + timedelta(hours=3))
    assert _sync(ctx, sf, 4)["accounts"] == 1
    with Session(ctx.engine) as session:
        assert session.get(Account, (ctx.name, gone)).deleted  # type: ignore[union-attr]
    assert sf.connector.calls["GET queryAll"] >= 1


def test_a_changed_opportunity_requeues_its_account(ctx: Context, sf: SalesforceHarness) -> None:
    """An Opportunity edited since the last run is pulled with its outcome and re-queues its Account."""
    _sync(ctx, sf, 2)
    deal = sf.deal_ids()[0]
    account = sf.server.values("Opportunity", deal)["AccountId"]
    sf.server.update_record("Opportunity", deal, {"StageName": "Closed Won"},
                            modified_at=WORLD_NOW + timedelta(hours=3))
    with Session(ctx.engine) as session:
        mark = session.get(SyncWatermark, (ctx.name, "deals"))
        assert mark is not None and mark.value is not None
        since = int(mark.value.timestamp() * 1000)
    assert _sync(ctx, sf, 4)["deals"] == 1
    assert account in sf.connector.requeued_accounts
    recent = {sf.server.values("Opportunity", d)["AccountId"] for d in sf.deal_ids()
              if sf.server.values("Opportunity", d)["SystemModstamp"] >= since}
    assert sf.connector.requeued_accounts <= recent  # boundary ties at most, never the look-back re-reads
    with Session(ctx.engine) as session:
        row = session.get(Deal, (ctx.name, deal))
        assert row is not None and row.outcome == "won" and row.account_id == account


def test_notes_on_opportunities_belong_to_the_opportunity_account(ctx: Context, sf: SalesforceHarness) -> None:
    """A Note whose parent is an Opportunity is linked to that Opportunity and to its Account, taken from the
    stored Opportunity: the first sync's queries are one per object (users, accounts, opportunities, notes),
    with no Opportunity look-up per page of notes (REST API Developer Guide, "Execute a SOQL Query": one
    call per query, ``nextRecordsUrl`` for each further page)."""
    before = sf.connector.calls["GET query"]
    _sync(ctx, sf, 2)
    assert sf.connector.calls["GET query"] - before == 4
    assert sf.connector.calls["GET query AccountHistory"] >= 1  # history reads are counted apart
    with Session(ctx.engine) as session:
        notes = session.execute(select(EvidenceNoteRow).where(EvidenceNoteRow.deal_id.is_not(None))).scalars().all()
    assert notes
    for note in notes:
        assert note.account_id == sf.server.values("Opportunity", str(note.deal_id))["AccountId"]


def test_unmapped_fields_are_left_out_of_the_soql(ctx: Context, sf: SalesforceHarness) -> None:
    """A mapped field the org does not show is not selected (no INVALID_FIELD); the rest is read."""
    pages = list(sf.connector.pull(PullRequest("accounts", ["Name", "No_Such_Field__c"], until=WORLD_NOW)))
    record = pages[0].records[0]
    assert "Name" in record.properties and "No_Such_Field__c" not in record.properties


def test_notes_are_skipped_when_their_text_is_not_mapped(ctx: Context, sf: SalesforceHarness) -> None:
    """A note mapping naming no field the org shows pulls no notes (and no Note query)."""
    pages = list(sf.connector.pull(PullRequest("notes", ["hs_note_body"], until=WORLD_NOW)))
    assert pages == [] and sf.connector.calls["GET query"] == 0


def test_the_look_back_starts_no_earlier_than_a_margin_before_where_the_previous_pull_stopped() -> None:
    """The previous pull, which stopped at ``previous_until``, saw every record stamped more than the look-back
    before then: the look-back covers only what it could have missed."""
    lookback = timedelta(minutes=10)
    assert windows(T0, T0 + DAY, 2 * DAY, lookback, T0 + DAY) == [(T0, T0 + DAY)]
    late = T0 + timedelta(minutes=5)
    assert windows(T0, T0 + DAY, 2 * DAY, lookback, late) == [(late - lookback, T0 + DAY)]
    assert windows(T0, T0 + DAY, 2 * DAY, lookback, T0) == [(T0 - lookback, T0 + DAY)]


@pytest.mark.parametrize("sf_options", [{"query_batch_size": 200}])
def test_a_write_back_long_before_the_previous_run_is_not_read_again(ctx: Context, sf: SalesforceHarness) -> None:
    """Accounts written well before the previous run started were read by it and are not read again (one query per
    object, no further page); the look-back still covers the margin before the previous run's start, and a
    record committed there late, stamped before the watermark, is taken (the store did not hold it at that stamp)."""
    ids = sf.account_ids()
    assert len(ids) > 203
    sf.stamp_accounts(ids[:-3], WORLD_NOW + timedelta(minutes=50))
    sf.stamp_accounts(ids[-3:-2], WORLD_NOW + timedelta(minutes=55))
    _sync(ctx, sf, 2)
    before = sf.connector.calls["GET queryAll"], sf.connector.calls["GET queryAll/{locator}"]
    assert _sync(ctx, sf, 3)["accounts"] == 0
    after = sf.connector.calls["GET queryAll"], sf.connector.calls["GET queryAll/{locator}"]
    assert after == (before[0] + 3, before[1])
    sf.stamp_accounts(ids[-2:-1], WORLD_NOW + timedelta(hours=3, minutes=58))
    assert _sync(ctx, sf, 4)["accounts"] == 1
    sf.edit_accounts(ids[-1:], WORLD_NOW + timedelta(hours=3, minutes=55))  # committed after the run at 4 h
    soql: list[str] = []
    pull = sf.connector._pages
    sf.connector._pages = lambda q, *a: (soql.append(q), pull(q, *a))[1]  # type: ignore[method-assign]
    assert _sync(ctx, sf, 5)["accounts"] == 1
    assert "SystemModstamp >= 2026-11-01T15:50:00+00:00" in next(q for q in soql if " FROM Account " in q)
    with Session(ctx.engine) as session:
        late = session.get(Account, (ctx.name, ids[-1]))
        assert late is not None and late.modified_at == WORLD_NOW + timedelta(hours=3, minutes=55)
