"""Contract: one leadership task per required role, with the summary and the review link, closed with the outcome."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from tests.contract.harness import CrmHarness
from worker.context import Context
from worker.govern.approval import approve_version
from worker.operate.cycle import run_cycle, utcnow
from worker.score.scorecard import load_scorecard
from worker.score.signoff import WEB, Actor
from worker.settings import DEFAULT_CONFIG, STARTER_SCORECARDS, ReviewOptions
from worker.store import Owner


def with_roles(ctx: Context, sales: str, delivery: str) -> Context:
    review = ReviewOptions(required_roles=["sales", "delivery"], roles={"sales": [sales], "delivery": [delivery]})
    return Context(ctx.settings, ctx.name, ctx.config.model_copy(update={"review": review}), ctx.engine)


def test_a_task_per_role_completed_with_the_outcome(ctx: Context, crm: CrmHarness) -> None:
    """Sales and delivery each get a task on their CRM user; sales' closes when sales signs, delivery's
    when the version is approved, each with the outcome written in."""
    run_cycle(ctx, crm.connector)
    with Session(ctx.engine) as session:
        people = list(session.execute(select(Owner.id, Owner.email).where(Owner.email.is_not(None))  # type: ignore[union-attr]
                                      .order_by(Owner.id)).all())
    (sales_id, sales), (delivery_id, delivery) = people[0], people[1]
    ctx = with_roles(ctx, sales, delivery)
    card = load_scorecard(DEFAULT_CONFIG / STARTER_SCORECARDS[crm.crm])
    version = ctx.versions.create(card, by="revops", now=utcnow())
    assert run_cycle(ctx, crm.connector).tasks_created == 2
    tasks = {t["owner"]: t for t in crm.tasks()}
    assert set(tasks) == {sales_id, delivery_id} and not any(t["done"] for t in tasks.values())
    link = ctx.settings.proposal_url(ctx.name, version.version)
    assert all(link in str(t["body"]) for t in tasks.values())
    assert "(sales)" in str(tasks[sales_id]["subject"]) and "(delivery)" in str(tasks[delivery_id]["subject"])
    approve_version(ctx.versions, version.version, by=Actor(sales, WEB), now=utcnow(), note="good fit",
                    accept_risks=True)
    run_cycle(ctx, crm.connector)
    tasks = {t["owner"]: t for t in crm.tasks()}
    assert tasks[sales_id]["done"] and not tasks[delivery_id]["done"]
    assert "still waits for: delivery" in str(tasks[sales_id]["body"])
    approve_version(ctx.versions, version.version, by=Actor(delivery, WEB), now=utcnow(), note="we can onboard",
                    accept_risks=True)
    run_cycle(ctx, crm.connector)
    tasks = {t["owner"]: t for t in crm.tasks()}
    assert len(crm.tasks()) == 2 and all(t["done"] for t in tasks.values())
    assert f"Outcome: approved by {delivery} (web)" in str(tasks[delivery_id]["body"])
    assert "Note: we can onboard" in str(tasks[delivery_id]["body"])


def test_a_superseded_proposal_closes_its_task(ctx: Context, crm: CrmHarness) -> None:
    """A newer proposal supersedes the pending one: the older task is completed saying so, a new one opens."""
    run_cycle(ctx, crm.connector)
    with Session(ctx.engine) as session:
        leader = session.execute(select(Owner.email).where(Owner.email.is_not(None))  # type: ignore[union-attr]
                                 .order_by(Owner.id)).scalars().first()
    ctx = Context(ctx.settings, ctx.name, ctx.config.model_copy(update={"review": ReviewOptions(
        leadership_owner=leader)}), ctx.engine)
    card = load_scorecard(DEFAULT_CONFIG / STARTER_SCORECARDS[crm.crm])
    ctx.versions.create(card, by="revops", now=utcnow())
    run_cycle(ctx, crm.connector)
    ctx.versions.create(card.model_copy(update={"name": "Newer"}), by="revops", now=utcnow())
    run_cycle(ctx, crm.connector)
    tasks = sorted(crm.tasks(), key=lambda t: str(t["subject"]))
    assert [t["done"] for t in tasks] == [True, False]
    assert "Outcome: superseded by revops" in str(tasks[0]["body"]) and "superseded by v2" in str(tasks[0]["body"])
