"""The connector contract: every connector, against its sandbox, on every store backend.

- a full pull returns every record once;
- a second run pulls only what changed;
- records sharing the boundary timestamp are not lost;
- an unchanged portal costs no write calls, and a re-run after a write is a no-op;
- only owned properties are written.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

from tests.contract.harness import WORLD_NOW, CrmHarness, approve_starter
from worker.context import Context
from worker.ingest.sync import Sync, stored_ids
from worker.operate.cycle import run_cycle
from worker.store import Account, Deal, SyncWatermark


def sync(ctx: Context, crm: CrmHarness, at_offset_hours: float) -> dict[str, int]:
    started = WORLD_NOW + timedelta(hours=at_offset_hours)
    crm.set_clock(started)
    return dict(Sync(ctx.engine, ctx.name, crm.connector, ctx.mapping, "test").run(started).pulled)


def test_full_pull_returns_every_record_once(ctx: Context, crm: CrmHarness) -> None:
    """The first run pulls every account and deal exactly once."""
    pulled = sync(ctx, crm, 2)
    assert sorted(stored_ids(ctx.engine, ctx.name, Account)) == sorted(crm.account_ids())
    assert sorted(stored_ids(ctx.engine, ctx.name, Deal)) == sorted(crm.deal_ids())
    assert pulled["accounts"] == len(crm.account_ids()) and pulled["deals"] == len(crm.deal_ids())


def test_second_run_pulls_only_what_changed(ctx: Context, crm: CrmHarness) -> None:
    """After a full pull, an incremental run reads just the records edited since."""
    sync(ctx, crm, 2)
    changed = crm.account_ids()[5:12]
    crm.edit_accounts(changed, WORLD_NOW + timedelta(hours=3))
    pulled = sync(ctx, crm, 4)
    assert pulled["accounts"] == len(changed)
    assert pulled["deals"] == 0
    assert sync(ctx, crm, 5)["accounts"] == 0


def test_records_sharing_the_boundary_timestamp_are_not_lost(ctx: Context, crm: CrmHarness) -> None:
    """Records stamped in the watermark's exact millisecond after it was saved are still read, once."""
    ids = crm.account_ids()
    burst = WORLD_NOW + timedelta(hours=3)
    crm.stamp_accounts(ids[:250], burst)
    sync(ctx, crm, 2)
    sync(ctx, crm, 4)
    with Session(ctx.engine) as session:
        mark = session.get(SyncWatermark, (ctx.name, "accounts"))
        assert mark is not None and mark.value == burst and len(mark.ids_at_value) == 250
    crm.stamp_accounts(ids[250:260], burst)
    assert sync(ctx, crm, 5)["accounts"] == 10
    assert sync(ctx, crm, 6)["accounts"] == 0


def test_unchanged_portal_costs_no_writes(ctx: Context, crm: CrmHarness) -> None:
    """The first approved cycle writes every account; a re-run writes nothing."""
    approve_starter(ctx)
    crm.set_clock(WORLD_NOW + timedelta(hours=2))
    first = run_cycle(ctx, crm.connector)
    assert first.status == "ok" and first.written == len(crm.account_ids())
    calls_after_first = crm.write_calls()
    crm.set_clock(WORLD_NOW + timedelta(hours=3))
    second = run_cycle(ctx, crm.connector)
    assert second.status == "ok" and second.written == 0 and second.unchanged == len(crm.account_ids())
    assert crm.write_calls() == calls_after_first


def test_an_edit_writes_only_the_accounts_whose_score_changed(ctx: Context, crm: CrmHarness) -> None:
    """Editing fit attributes rewrites exactly the accounts whose owned values change."""
    approve_starter(ctx)
    crm.set_clock(WORLD_NOW + timedelta(hours=2))
    run_cycle(ctx, crm.connector)
    with Session(ctx.engine) as session:
        visits = {a.id: a.attributes.get("web_visits_30d") for a in session.execute(select(Account)).scalars()}
    low = [i for i, v in visits.items() if v is not None and v < 50][:5]
    crm.edit_accounts(low, WORLD_NOW + timedelta(hours=3))
    crm.set_clock(WORLD_NOW + timedelta(hours=4))
    again = run_cycle(ctx, crm.connector)
    assert again.pulled["accounts"] >= len(low)
    assert again.written == len(low)


def test_only_owned_properties_are_written(ctx: Context, crm: CrmHarness) -> None:
    """After a cycle, every non-owned property of every account is exactly as before."""
    owned = ctx.mapping.owned
    assert owned is not None
    owned_names = {owned.score, owned.tier, owned.reasons, owned.version, owned.scored_at,
                   "hs_lastmodifieddate", "lastmodifieddate", "LastModifiedDate", "SystemModstamp"}
    before = {i: crm.account_values(i) for i in crm.account_ids()}
    approve_starter(ctx)
    crm.set_clock(WORLD_NOW + timedelta(hours=2))
    assert run_cycle(ctx, crm.connector).written > 0
    for account_id, values in before.items():
        after = crm.account_values(account_id)
        changed = {k for k in after if after.get(k) != values.get(k)}
        assert changed <= owned_names, (account_id, changed - owned_names)
        assert after[owned.score] is not None
