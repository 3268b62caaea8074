"""HubSpot failure handling against the sandbox, with the real client library."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from tests.contract.harness import (
    WORLD_NOW,
    HubSpotHarness,
    approve_starter,
    hubspot_harness,
    make_context,
    ready_context,
)
from worker.context import Context
from worker.operate.cycle import run_cycle
from worker.store import QuarantineRow, SyncWatermark, WrittenSnapshot

UPDATE = "POST /crm/v3/objects/companies/batch/update"


@pytest.fixture
def hs() -> Iterator[HubSpotHarness]:
    with hubspot_harness(accounts=250) as harness:
        yield harness


@pytest.fixture
def ctx(engine: Engine, hs: HubSpotHarness) -> Context:
    return ready_context(engine, hs.connector)


def test_partial_failure_retries_only_failed_records(ctx: Context, hs: HubSpotHarness) -> None:
    """A 207 retries just the failed ids; the rest are recorded as written."""
    approve_starter(ctx)
    flaky = set(hs.account_ids()[:3])
    hs.server.fail_ids_on_update(flaky, times=1)
    summary = run_cycle(ctx, hs.connector)
    assert summary.written == 250 and summary.write_failures == 0
    assert hs.server.calls[UPDATE] == 3 + 1  # 250 ids in 3 batches, one retry holding only the 3 failed ids


def test_persistent_record_failure_is_recorded_and_retried_next_run(ctx: Context, hs: HubSpotHarness) -> None:
    """A record that keeps failing is quarantined with the reason; the next run writes only it."""
    approve_starter(ctx)
    broken = hs.account_ids()[7]
    hs.server.fail_ids_on_update({broken}, times=2)
    first = run_cycle(ctx, hs.connector)
    assert first.write_failures == 1 and first.written == 249
    with Session(ctx.engine) as session:
        row = session.execute(select(QuarantineRow).where(QuarantineRow.object_type == "writeback")).scalar_one()
        assert row.record_id == broken and "OBJECT_NOT_FOUND" in row.reason
        assert session.get(WrittenSnapshot, (ctx.name, broken)) is None
    second = run_cycle(ctx, hs.connector)
    assert second.written == 1 and second.write_failures == 0


def test_ten_secondly_429_is_retried_with_retry_after(ctx: Context, hs: HubSpotHarness) -> None:
    """A burst 429 is retried (honouring Retry-After) and the run succeeds."""
    hs.server.faults.add("GET /crm/v3/objects/companies", 429, body={
        "status": "error", "message": "You have reached your ten_secondly_rolling limit.", "errorType": "RATE_LIMIT",
        "correlationId": "c", "policyName": "TEN_SECONDLY_ROLLING", "groupName": "g"},
        headers={"Retry-After": "0.05"}, times=2)
    summary = run_cycle(ctx, hs.connector)
    assert summary.status == "ok" and summary.pulled["accounts"] == 250
    assert summary.api_calls["GET /crm/v3/objects/companies"] == 3 + 2


def test_daily_limit_stops_cleanly_and_the_next_run_resumes(ctx: Context, hs: HubSpotHarness) -> None:
    """DAILY 429 stops the run with state kept; the next run continues from the saved watermark."""
    hs.server.faults.add("GET /crm/v3/objects/deals", 429, body={
        "status": "error", "message": "You have reached your daily limit.", "errorType": "RATE_LIMIT",
        "correlationId": "c", "policyName": "DAILY", "groupName": "g"})
    stopped = run_cycle(ctx, hs.connector)
    assert stopped.status == "stopped" and "DAILY" in (stopped.message or "")
    with Session(ctx.engine) as session:
        assert session.get(SyncWatermark, (ctx.name, "accounts")) is not None
        assert session.get(SyncWatermark, (ctx.name, "deals")) is None
    resumed = run_cycle(ctx, hs.connector)
    assert resumed.status == "ok" and resumed.pulled["deals"] == len(hs.deal_ids())
    assert resumed.pulled["accounts"] == 0


def test_missing_owned_fields_fail_the_run_with_how_to_fix(engine: Engine, hs: HubSpotHarness) -> None:
    """Without the owned properties the run fails, naming them and how to create them."""
    context = make_context(engine)
    summary = run_cycle(context, hs.connector)
    assert summary.status == "failed"
    assert "icp_fit_score" in (summary.message or "") and "icp setup" in (summary.message or "")


def test_setup_is_idempotent(engine: Engine, hs: HubSpotHarness) -> None:
    """Setup creates the six owned properties once; a second setup creates nothing."""
    context = make_context(engine)
    assert context.mapping.owned is not None
    specs = context.mapping.owned.specs()
    assert len(hs.connector.setup_fields(specs)) == 6
    assert hs.connector.setup_fields(specs) == []
    assert hs.connector.check_fields(specs).ok


def test_bad_record_is_quarantined_and_the_run_goes_on(ctx: Context, hs: HubSpotHarness) -> None:
    """A company with an unparseable value is quarantined with id, field and reason; the rest sync."""
    bad = hs.account_ids()[0]
    hs.server.companies.write(hs.server.companies.row_of(bad), {"founded_year": "nineteen-ninety"})
    summary = run_cycle(ctx, hs.connector)
    assert summary.status == "partial" and summary.quarantined["accounts"] == 1 and summary.pulled["accounts"] == 250
    assert "quarantined with their reason: 1 accounts" in (summary.message or "")
    with Session(ctx.engine) as session:
        row = session.execute(select(QuarantineRow).where(QuarantineRow.record_id == bad)).scalar_one()
        assert row.field == "founded_year" and "nineteen-ninety" in row.reason
        assert row.raw["founded_year"] == "nineteen-ninety"


def test_search_cap_rewindows_without_losing_or_looping(engine: Engine) -> None:
    """With a small search cap, a burst of identical timestamps is walked by id and read exactly once."""
    with hubspot_harness(accounts=700, search_cap=400) as harness:
        context = make_context(engine)
        from worker.ingest.sync import Sync

        start = WORLD_NOW + timedelta(hours=2)
        harness.set_clock(start)
        Sync(context.engine, context.name, harness.connector, context.mapping, "t").run(start)
        harness.stamp_accounts(harness.account_ids()[:650], WORLD_NOW + timedelta(hours=3))
        harness.edit_accounts(harness.account_ids()[650:660], WORLD_NOW + timedelta(hours=3, minutes=5))
        later = WORLD_NOW + timedelta(hours=4)
        harness.set_clock(later)
        report = Sync(context.engine, context.name, harness.connector, context.mapping, "t").run(later)
        assert report.pulled["accounts"] == 660
