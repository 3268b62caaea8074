"""Own writes and incremental rescoring, for every connector on every store backend.

- the run right after a write-back reads back what the worker wrote, but neither stores nor rescores it;
- a person's edit of an owned field is still noticed and restored;
- only accounts whose inputs changed are rescored; a new version rescores them all.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from tests.contract.harness import WORLD_NOW, CrmHarness, approve_starter
from worker.context import Context
from worker.operate.cycle import run_cycle
from worker.store import Account, AccountScore, Deal


def stamps(ctx: Context) -> tuple[dict[str, datetime | None], dict[str, datetime | None]]:
    """When each account was last stored, and when each score last changed."""
    with Session(ctx.engine) as session:
        synced = dict(session.execute(select(Account.id, Account.synced_at)).all())
        scored = dict(session.execute(select(AccountScore.account_id, AccountScore.scored_at)).all())
    return synced, scored  # type: ignore[return-value]


def first_cycle(ctx: Context, crm: CrmHarness) -> None:
    approve_starter(ctx)
    crm.set_clock(WORLD_NOW + timedelta(hours=2))
    first = run_cycle(ctx, crm.connector)
    assert first.status == "ok" and first.written == len(crm.account_ids())


def test_the_run_after_a_write_back_does_not_process_its_own_writes(ctx: Context, crm: CrmHarness) -> None:
    """Every account written moves its modification stamp, so it is read again, but not stored or rescored."""
    first_cycle(ctx, crm)
    before = stamps(ctx)
    crm.set_clock(WORLD_NOW + timedelta(hours=3))
    second = run_cycle(ctx, crm.connector)
    assert second.status == "ok" and second.pulled["accounts"] == len(crm.account_ids())
    assert second.rescored == 0 and second.written == 0 and second.unchanged == len(crm.account_ids())
    assert stamps(ctx) == before


def test_a_persons_edit_of_an_owned_field_is_still_restored(ctx: Context, crm: CrmHarness) -> None:
    """Only the worker's own write is skipped: a hand-edited score is stored and written back."""
    first_cycle(ctx, crm)
    edited = crm.account_ids()[3]
    ours = crm.account_values(edited)[ctx.mapping.owned.score]  # type: ignore[union-attr]
    edit_owned_score(crm, edited, WORLD_NOW + timedelta(hours=2, minutes=30))
    crm.set_clock(WORLD_NOW + timedelta(hours=3))
    again = run_cycle(ctx, crm.connector)
    assert again.status == "ok" and again.written == 1
    assert float(crm.account_values(edited)[ctx.mapping.owned.score]) == float(ours)  # type: ignore[union-attr]


def test_only_accounts_whose_inputs_changed_are_rescored(ctx: Context, crm: CrmHarness) -> None:
    """Edited fit attributes rescore exactly those accounts; the others keep their score untouched."""
    first_cycle(ctx, crm)
    edited = crm.account_ids()[10:15]
    _, scored_before = stamps(ctx)
    crm.edit_accounts(edited, WORLD_NOW + timedelta(hours=2, minutes=30))
    crm.set_clock(WORLD_NOW + timedelta(hours=3))
    again = run_cycle(ctx, crm.connector)
    assert again.status == "ok" and again.scored == len(crm.account_ids()) and again.rescored == len(edited)
    _, scored_after = stamps(ctx)
    assert {i for i in scored_after if scored_after[i] != scored_before[i]} <= set(edited)


def test_a_new_version_rescores_every_account(ctx: Context, crm: CrmHarness) -> None:
    """A version approved after the last scoring compares every account again."""
    first_cycle(ctx, crm)
    approve_starter(ctx)
    crm.set_clock(WORLD_NOW + timedelta(hours=3))
    again = run_cycle(ctx, crm.connector)
    assert again.status == "ok" and again.rescored == len(crm.account_ids())


def edit_owned_score(crm: CrmHarness, account_id: str, at: datetime) -> None:
    """A person types a score into the owned field in the CRM."""
    server = crm.server  # type: ignore[attr-defined]
    if crm.crm == "hubspot":
        server.update_company(account_id, {"icp_fit_score": "3"}, modified_at=at)
    else:
        server.update_record("Account", account_id, {"ICP_Fit_Score__c": 3}, modified_at=at)


def deal_stamps(ctx: Context) -> dict[str, datetime | None]:
    """When each deal was last stored."""
    with Session(ctx.engine) as session:
        return dict(session.execute(select(Deal.id, Deal.synced_at)).all())  # type: ignore[arg-type]


def test_deals_the_worker_wrote_are_read_again_but_not_stored_again(ctx: Context, crm: CrmHarness) -> None:
    """Writing an account's fit onto its open deals moves their modification stamps: the next run reads them
    (only reading shows nothing else changed) but stores none of them again."""
    approve_starter(ctx)
    crm.set_clock(WORLD_NOW + timedelta(hours=2))
    first = run_cycle(ctx, crm.connector)
    assert first.status == "ok" and first.deals_written > 0
    before = deal_stamps(ctx)
    crm.set_clock(WORLD_NOW + timedelta(hours=3))
    second = run_cycle(ctx, crm.connector)
    assert second.status == "ok" and second.pulled["deals"] >= first.deals_written
    assert second.deals_written == 0 and deal_stamps(ctx) == before
    assert second.pulled_unchanged["deals"] >= first.deals_written
