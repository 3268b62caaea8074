"""Quota stops, retries, partial write failures and the bulk path, against the sandbox org."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from connectors.base import PullRequest
from connectors.salesforce import SalesforceConnector
from tests.contract.harness import (
    WORLD_NOW,
    SalesforceHarness,
    approve_starter,
    make_context,
    ready_context,
    salesforce_harness,
    salesforce_settings,
)
from tests.salesforce.conftest import DEPLOY, JOBS, LIMITS, QUERY
from worker.context import Context
from worker.operate.cycle import run_cycle
from worker.store import QuarantineRow, SyncWatermark, WrittenSnapshot


def _marks(ctx: Context) -> dict[str, bool]:
    with Session(ctx.engine) as session:
        return {o: session.get(SyncWatermark, (ctx.name, o)) is not None for o in ("accounts", "deals", "notes")}


def test_request_limit_exceeded_stops_and_the_next_run_resumes(ctx: Context, sf: SalesforceHarness) -> None:
    """REQUEST_LIMIT_EXCEEDED stops the run with state kept; the next run continues from the saved watermark."""
    sf.server.fail_queries("Opportunity")
    stopped = run_cycle(ctx, sf.connector)
    assert stopped.status == "stopped" and "REQUEST_LIMIT_EXCEEDED" in (stopped.message or "")
    assert _marks(ctx) == {"accounts": True, "deals": False, "notes": False}
    resumed = run_cycle(ctx, sf.connector)
    assert resumed.status == "ok" and resumed.pulled["deals"] == len(sf.deal_ids())
    assert resumed.pulled["accounts"] == 0


def test_limits_under_the_reserve_stop_before_any_pull(engine: Engine) -> None:
    """/limits before the run shows fewer calls left than the reserve: nothing is pulled, the run stops."""
    from tests.contract.harness import salesforce_harness

    with salesforce_harness(accounts=50, daily_reserve=500) as sf:
        sf.server.deploy(DEPLOY)
        sf.server.rate_limit(daily=400)
        summary = run_cycle(make_context(engine, "salesforce"), sf.connector)
        assert summary.status == "stopped" and "under the reserve of 500" in (summary.message or "")
        assert sf.server.calls[LIMITS] == 1 and sf.server.calls[QUERY] == 0


def test_usage_header_under_the_reserve_stops_mid_run_and_resumes(engine: Engine) -> None:
    """Sforce-Limit-Info falling under the reserve mid-run stops cleanly; a later run with room resumes."""
    from tests.contract.harness import salesforce_harness

    with salesforce_harness(accounts=50, daily_reserve=9_995) as sf:
        sf.server.deploy(DEPLOY)
        sf.server.rate_limit(daily=10_000)
        context = make_context(engine, "salesforce")
        summary = run_cycle(context, sf.connector)
        assert summary.status == "stopped" and "reserve" in (summary.message or "")
        assert _marks(context) == {"accounts": True, "deals": False, "notes": False}
        roomy = SalesforceConnector(salesforce_settings(sf.server, daily_reserve=0))
        resumed = run_cycle(context, roomy)
        roomy.close()
        assert resumed.status == "ok" and resumed.pulled["accounts"] == 0
        assert resumed.pulled["deals"] == len(sf.deal_ids())


def test_partial_collection_failure_retries_only_the_failed_records(ctx: Context, sf: SalesforceHarness) -> None:
    """Per-record errors in a collection are mapped back by position and only those records are sent again."""
    approve_starter(ctx)
    flaky = set(sf.account_ids()[100:103])
    sf.server.fail_ids_on_update(flaky, times=1)
    summary = run_cycle(ctx, sf.connector)
    assert summary.written == 250 and summary.write_failures == 0
    assert sf.server.collection_sizes == [200, 3, 50]  # the 3 failed records of the first collection, alone


def test_permanent_record_failure_is_recorded_not_retried(ctx: Context, sf: SalesforceHarness) -> None:
    """A record error that cannot pass is quarantined with Salesforce's reason; the next run writes only it."""
    approve_starter(ctx)
    broken = sf.account_ids()[7]
    sf.server.fail_ids_on_update({broken}, code="ENTITY_IS_DELETED", message="entity is deleted")
    first = run_cycle(ctx, sf.connector)
    assert first.written == 249 and first.write_failures == 1
    assert sf.server.collection_sizes == [200, 50]
    with Session(ctx.engine) as session:
        row = session.execute(select(QuarantineRow).where(QuarantineRow.object_type == "writeback")).scalar_one()
        assert row.record_id == broken and "ENTITY_IS_DELETED" in row.reason
        assert session.get(WrittenSnapshot, (ctx.name, broken)) is None
    second = run_cycle(ctx, sf.connector)
    assert second.written == 1 and sf.server.collection_sizes == [200, 50, 1]


@pytest.mark.parametrize("sf_options", [{"bulk_threshold": 100}])
def test_bulk_path_above_the_threshold_reports_failed_records(ctx: Context, sf: SalesforceHarness,
                                                              sf_options: dict[str, Any]) -> None:
    """At or above the threshold one Bulk API 2.0 job writes; its failed records are fetched and reported."""
    approve_starter(ctx)
    failing = set(sf.account_ids()[:2])
    sf.server.fail_ids_on_update(failing)
    first = run_cycle(ctx, sf.connector)
    assert first.written == 248 and first.write_failures == 2
    assert sf.server.calls[JOBS] == 1 and sf.server.collection_sizes == []
    assert first.api_calls["GET jobs/ingest/{id}/failedResults"] == 1
    with Session(ctx.engine) as session:
        reasons = session.execute(select(QuarantineRow.record_id, QuarantineRow.reason).where(
            QuarantineRow.object_type == "writeback")).all()
    assert {r for r, _ in reasons} == failing and all("UNABLE_TO_LOCK_ROW" in why for _, why in reasons)
    owned = ctx.mapping.owned
    assert owned is not None
    written = next(i for i in sf.account_ids() if i not in failing)
    assert sf.server.values("Account", written)[owned.tier] in {"A", "B", "C", "D"}
    second = run_cycle(ctx, sf.connector)
    assert second.written == 2 and sf.server.collection_sizes == [2] and sf.server.calls[JOBS] == 1


def test_a_large_write_goes_through_one_bulk_job(engine: Engine) -> None:
    """Above the threshold the whole write is one Bulk API 2.0 job, even past the usual 1,000-record chunk."""
    with salesforce_harness(accounts=1200, bulk_threshold=400) as big:
        big.server.deploy(DEPLOY)
        context = make_context(engine, "salesforce")
        approve_starter(context)
        summary = run_cycle(context, big.connector)
        assert summary.written == 1200
        assert big.server.calls[JOBS] == 1 and big.server.collection_sizes == []


def test_server_errors_are_retried(sf: SalesforceHarness) -> None:
    """503s on a query are retried under the policy; the pull completes."""
    sf.server.faults.add(QUERY, 503, times=2)
    owners = [r for p in sf.connector.pull(PullRequest("owners", [], until=WORLD_NOW)) for r in p.records]
    assert len(owners) > 1 and sf.connector.calls["GET query"] == 3


def test_client_errors_are_not_retried(sf: SalesforceHarness) -> None:
    """A 400 is fatal at once: no retry."""
    from connectors.errors import FatalError

    sf.server.faults.add(QUERY, 400, times=3)
    with pytest.raises(FatalError, match="MALFORMED_QUERY"):
        list(sf.connector.pull(PullRequest("owners", [], until=WORLD_NOW)))
    assert sf.connector.calls["GET query"] == 1


@pytest.mark.parametrize("sf_options", [{"timeout": (2.0, 0.3)}])
def test_every_call_has_a_timeout(sf: SalesforceHarness, sf_options: dict[str, Any]) -> None:
    """A response slower than the read timeout is abandoned and the call retried, never hung on."""
    sf.server.faults.add(LIMITS, 200, body={}, delay=0.8)
    sf.connector.check_fields([])
    assert sf.connector.calls["GET limits"] == 2


def test_deals_above_the_threshold_go_through_one_bulk_job(engine: Engine) -> None:
    """Owned Opportunity fields use the bulk path like Accounts: one job for a write at or above the threshold."""
    with salesforce_harness(accounts=60, bulk_threshold=5) as harness:
        ctx = ready_context(engine, harness.connector, "salesforce")
        objects: list[str] = []
        harness.server.observers.append(lambda request, response: objects.append(str((request.body or {}).get(
            "object"))) if request.route == JOBS and response.status < 300 else None)
        deals = [r.id for p in harness.connector.pull(PullRequest("deals", [], until=WORLD_NOW)) for r in p.records][:6]
        owned = ctx.mapping.owned_deals
        assert owned is not None
        outcome = harness.connector.write_deals({d: {owned.score: "61", owned.tier: "B"} for d in deals})
        assert sorted(outcome.succeeded) == sorted(deals) and not outcome.failed
        assert objects == ["Opportunity"] and harness.server.collection_sizes == []
        assert all(harness.deal_values(d)[owned.tier] == "B" for d in deals)
