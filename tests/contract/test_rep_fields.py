"""Contract: what a rep and an owner see: whole-number scores, overrides answered, owner tasks that never vanish."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

from tests.contract.harness import APPROVER, WORLD_NOW, CrmHarness, approve_starter
from worker.context import Context
from worker.govern.approval import approve_version
from worker.operate.cycle import run_cycle, utcnow
from worker.score.scorecard import load_scorecard, parse_scorecard
from worker.settings import DEFAULT_CONFIG, STARTER_SCORECARDS, ReviewOptions, TierChangeRule
from worker.store import Account, AccountScore, Deal, ReviewTask


def owned_accounts(ctx: Context) -> list[tuple[str, str]]:
    """(account id, owner id) of the accounts that have an owner, by id."""
    with Session(ctx.engine) as session:
        return [(a, o) for a, o in session.execute(select(Account.id, Account.owner_id).where(
            Account.owner_id.is_not(None)).order_by(Account.id)).all()]  # type: ignore[union-attr]


def test_scores_are_whole_numbers(ctx: Context, crm: CrmHarness) -> None:
    """The score field holds integers on both CRMs (no 95.00 on Salesforce)."""
    owned = ctx.mapping.owned
    assert owned is not None
    approve_starter(ctx)
    assert run_cycle(ctx, crm.connector).written > 0
    for account in crm.account_ids():
        value = crm.account_values(account)[owned.score]
        assert str(value).isdigit() and 0 <= int(value) <= 100, value
    if crm.crm == "salesforce":
        assert crm.connector.schema.fields("Account", refresh=True)[owned.score]["scale"] == 0  # type: ignore[attr-defined]


def test_an_ignored_override_is_answered_on_the_record_and_in_the_owners_task(ctx: Context,
                                                                               crm: CrmHarness) -> None:
    """150 is outside 0-100 and 90 has no reason: both are ignored, the status field and the owner's task say
    why, once; a reason added later makes the override win and clears the status."""
    owned, override = ctx.mapping.owned, ctx.mapping.accounts.override
    assert owned is not None and owned.status
    approve_starter(ctx)
    run_cycle(ctx, crm.connector)
    (bad, bad_owner), (bare, bare_owner) = owned_accounts(ctx)[:2]
    crm.edit_values(bad, {override["score"]: 150, override["reason"]: "strategic logo"}, WORLD_NOW + timedelta(hours=2))
    crm.edit_values(bare, {override["score"]: 90}, WORLD_NOW + timedelta(hours=2))
    crm.set_clock(WORLD_NOW + timedelta(hours=3))
    run_cycle(ctx, crm.connector)
    with Session(ctx.engine) as session:
        computed = dict(session.execute(select(AccountScore.account_id, AccountScore.score)).all())  # type: ignore[arg-type]
    shown = {a: crm.account_values(a) for a in (bad, bare)}
    assert int(shown[bad][owned.score]) == computed[bad] and int(shown[bare][owned.score]) == computed[bare]
    assert "override 150 is outside 0-100" in str(shown[bad][owned.status])
    assert "needs a reason" in str(shown[bare][owned.status])
    tasks = {t["account"]: t for t in crm.tasks()}
    assert tasks[bad]["owner"] == bad_owner and "outside 0-100" in str(tasks[bad]["body"])
    assert tasks[bare]["owner"] == bare_owner and "needs a reason" in str(tasks[bare]["body"])
    crm.set_clock(WORLD_NOW + timedelta(hours=4))
    again = run_cycle(ctx, crm.connector)
    assert again.written == 0 and again.tasks_created == 0 and len(crm.tasks()) == 2
    crm.edit_values(bare, {override["reason"]: "board decision"}, WORLD_NOW + timedelta(hours=5))
    crm.set_clock(WORLD_NOW + timedelta(hours=6))
    run_cycle(ctx, crm.connector)
    now = crm.account_values(bare)
    assert int(now[owned.score]) == 90 and now[owned.status] in (None, "")


def strict(crm: str) -> object:
    """The starter card with bands so high that nearly every A and B account falls to D."""
    document = load_scorecard(DEFAULT_CONFIG / STARTER_SCORECARDS[crm]).model_dump(mode="json", exclude_none=True)
    document["name"] = "Strict"
    for band, floor in zip(document["bands"], (99, 98, 97, 0), strict=True):
        band["min"] = floor
    return parse_scorecard(document)


def test_a_new_version_that_drops_accounts_two_tiers_raises_owner_tasks_capped_then_queued(ctx: Context,
                                                                                          crm: CrmHarness) -> None:
    """Approving a version that drops accounts two tiers or more asks their owners to review, like any other
    drop; beyond the per-run cap the tasks wait and go out on later runs, oldest first, each exactly once."""
    ctx = Context(ctx.settings, ctx.name, ctx.config.model_copy(update={"review": ReviewOptions(
        tier_change=TierChangeRule(max_tasks_per_run=30))}), ctx.engine)
    approve_starter(ctx)
    run_cycle(ctx, crm.connector)
    with Session(ctx.engine) as session:
        before = dict(session.execute(select(AccountScore.account_id, AccountScore.tier)).all())  # type: ignore[arg-type]
    owners = dict(owned_accounts(ctx))
    version = ctx.versions.create(strict(crm.crm), by="revops", now=utcnow())  # type: ignore[arg-type]
    approve_version(ctx.versions, version.version, by=APPROVER, now=utcnow(), accept_risks=True, note="stricter")
    first = run_cycle(ctx, crm.connector)
    with Session(ctx.engine) as session:
        after = dict(session.execute(select(AccountScore.account_id, AccountScore.tier)).all())  # type: ignore[arg-type]
    order = "ABCD"
    dropped = {a for a in after if a in owners and order.index(after[a]) - order.index(before[a]) >= 2}
    assert len(dropped) > 30
    assert first.tasks_created == 30 and first.tasks_capped == len(dropped) - 30
    runs = 1
    while len(crm.tasks()) < len(dropped):
        summary = run_cycle(ctx, crm.connector)
        assert summary.tasks_created == min(30, len(dropped) - 30 * runs)
        runs += 1
        assert runs < 20
    assert Counter(t["account"] for t in crm.tasks()) == Counter({a: 1 for a in dropped})
    assert all("newly approved scorecard v2" in str(t["body"]) for t in crm.tasks())
    with Session(ctx.engine) as session:
        statuses = Counter(session.execute(select(ReviewTask.status).where(ReviewTask.kind == "tier-change")).scalars())
    assert statuses == Counter({"created": len(dropped)})


def test_open_deals_carry_their_accounts_fit_written_once(ctx: Context, crm: CrmHarness) -> None:
    """Every open deal gets its account's score and tier; nothing is sent again while they are unchanged, and
    a changed account rewrites only its own open deals. Closed deals are left alone."""
    deals = ctx.mapping.owned_deals
    assert deals is not None
    approve_starter(ctx)
    first = run_cycle(ctx, crm.connector)
    with Session(ctx.engine) as session:
        rows = session.execute(select(Deal.id, Deal.account_id, Deal.outcome)).all()
        shown = dict(session.execute(select(AccountScore.account_id, AccountScore.score)).all())  # type: ignore[arg-type]
    open_deals = {d: a for d, a, outcome in rows if outcome == "open" and a in shown}
    closed = [d for d, _, outcome in rows if outcome != "open"]
    assert open_deals and closed and first.deals_written == len(open_deals)
    for deal, account in open_deals.items():
        values = crm.deal_values(deal)
        assert int(values[deals.score]) == shown[account] and values[deals.tier] in "ABCD"
    assert all(crm.deal_values(d).get(deals.score) in (None, "") for d in closed)
    crm.set_clock(WORLD_NOW + timedelta(hours=2))
    assert run_cycle(ctx, crm.connector).deals_written == 0
    account = next(iter(open_deals.values()))
    owned, override = ctx.mapping.owned, ctx.mapping.accounts.override
    assert owned is not None
    crm.edit_values(account, {override["score"]: 3, override["reason"]: "churn risk"}, WORLD_NOW + timedelta(hours=3))
    crm.set_clock(WORLD_NOW + timedelta(hours=4))
    third = run_cycle(ctx, crm.connector)
    assert third.deals_written == sum(1 for a in open_deals.values() if a == account)
    assert all(int(crm.deal_values(d)[deals.score]) == 3 for d, a in open_deals.items() if a == account)


def test_missing_deal_fields_never_stop_the_run(engine: object, crm: CrmHarness) -> None:
    """Deal fields not created yet (no `icp setup` since): accounts are written, deals are skipped, said why."""
    from tests.contract.harness import make_context

    ctx = make_context(engine, crm.crm)  # type: ignore[arg-type]
    assert ctx.mapping.owned is not None
    crm.connector.setup_fields([*ctx.mapping.owned.specs(), *(s for s in ctx.mapping.setup_specs()
                                                              if "override" in s.label.lower())])
    approve_starter(ctx)
    summary = run_cycle(ctx, crm.connector)
    assert summary.written == len(crm.account_ids()) and summary.deals_written == 0
    assert any("deal fields not written" in w and "icp setup" in w for w in summary.warnings)
