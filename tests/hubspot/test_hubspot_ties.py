"""Incremental HubSpot pulls leave out the watermark's ties, however many share its millisecond.

The search guide (https://developers.hubspot.com/docs/api/crm/search, "Filter search results") takes
``NOT_IN`` with a ``values`` list and ``GT`` on any number property, ``hs_object_id`` included; five
filter groups of up to ten filters (developers.hubspot.com/changelog/breaking-change-expanded-filtering-
capabilities-and-error-messaging-in-hubspots-search-api). Up to 100 ties are left out by name, more by
``hs_object_id`` above the largest, so a bulk edit stamped in one millisecond is not read again every night.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from tests.contract.harness import WORLD_NOW, HubSpotHarness, hubspot_harness, ready_context
from worker.context import Context
from worker.ingest.sync import Sync
from worker.store import Deal, SyncWatermark

SEARCH = "POST /crm/v3/objects/companies/search"


def _sync(ctx: Context, crm: HubSpotHarness, hours: float) -> int:
    started = WORLD_NOW + timedelta(hours=hours)
    crm.set_clock(started)
    return Sync(ctx.engine, ctx.name, crm.connector, ctx.mapping, "test").run(started, ["accounts"]).pulled["accounts"]


def test_more_ties_than_not_in_takes_cost_one_search_and_later_ties_still_come(engine: Engine) -> None:
    """250 companies stamped in the watermark's millisecond: the next run reads none of them in one search call;
    companies stamped in that millisecond afterwards (higher ids, as HubSpot assigns them) are still read, once."""
    with hubspot_harness() as crm:
        ctx = ready_context(engine, crm.connector, crm.crm)
        ids = sorted(crm.account_ids(), key=int)
        burst = WORLD_NOW + timedelta(hours=3)
        crm.stamp_accounts(ids[:250], burst)
        assert _sync(ctx, crm, 4) == len(ids)
        with Session(ctx.engine) as session:
            mark = session.get(SyncWatermark, (ctx.name, "accounts"))
            assert mark is not None and mark.value == burst and len(mark.ids_at_value) == 250
        before = crm.server.calls[SEARCH]
        assert _sync(ctx, crm, 5) == 0
        assert crm.server.calls[SEARCH] - before == 1
        crm.stamp_accounts(ids[250:260], burst)
        assert _sync(ctx, crm, 6) == 10
        assert _sync(ctx, crm, 7) == 0


def test_associations_of_changed_deals_are_read_a_thousand_at_a_time(engine: Engine) -> None:
    """Incremental deal pages come 200 per search call; their company associations are read for five such pages
    at once (the batch read takes 1,000 ids), and every deal keeps its company."""
    with hubspot_harness(accounts=1_500) as crm:
        ctx = ready_context(engine, crm.connector, crm.crm)
        started = WORLD_NOW + timedelta(hours=2)
        crm.set_clock(started)
        Sync(ctx.engine, ctx.name, crm.connector, ctx.mapping, "test").run(started, ["accounts", "deals"])
        deals = sorted(crm.deal_ids(), key=int)[:1_100]
        for number, deal_id in enumerate(deals):
            crm.server.touch([deal_id], WORLD_NOW + timedelta(hours=2, seconds=number), "deals")
        route = "POST /crm/v4/associations/deals/companies/batch/read"
        before = crm.server.calls[route], crm.server.calls["POST /crm/v3/objects/deals/search"]
        started = WORLD_NOW + timedelta(hours=3)
        crm.set_clock(started)
        sync = Sync(ctx.engine, ctx.name, crm.connector, ctx.mapping, "test")
        assert sync.run(started, ["deals"]).pulled["deals"] == len(deals)
        assert crm.server.calls[route] - before[0] == 2
        assert crm.server.calls["POST /crm/v3/objects/deals/search"] - before[1] == 6
        with Session(ctx.engine) as session:
            linked = {d.id: d.account_id for d in session.exec(select(Deal).where(Deal.id.in_(deals)))}
        assert all(linked[d] == crm.server.associated_ids("deals", d, "companies")[0] for d in deals)
