"""Humans decide: approval, rollback, overrides and review tasks, end to end against the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from connectors.base import TaskRequest
from tests.contract.harness import APPROVER, WORLD_NOW, HubSpotHarness, approve_starter, hubspot_harness, ready_context
from worker.context import Context
from worker.govern.approval import approve_version
from worker.govern.tasks import task_key
from worker.operate.cycle import run_cycle, utcnow
from worker.score.scorecard import load_scorecard, parse_scorecard
from worker.settings import DEFAULT_CONFIG, ReviewOptions
from worker.store import AccountScore, Owner, ReviewTask


@pytest.fixture
def hs() -> Iterator[HubSpotHarness]:
    with hubspot_harness(accounts=200) as harness:
        yield harness


@pytest.fixture
def ctx(engine: Engine, hs: HubSpotHarness) -> Context:
    return ready_context(engine, hs.connector)


def crm_values(hs: HubSpotHarness, account_id: str) -> dict[str, str | None]:
    return {k: hs.server.companies.value(account_id, k) for k in
            ("icp_fit_score", "icp_fit_tier", "icp_fit_reasons", "icp_scorecard_version")}


def variant_card() -> object:
    """The starter card with firmographics weighted differently."""
    document = load_scorecard(DEFAULT_CONFIG / "starter-scorecard.yaml").model_dump(mode="json", exclude_none=True)
    document["name"] = "Variant"
    document["criteria"][0]["bins"][0]["points"] = 10
    document["criteria"][1]["bins"][2]["points"] = 15
    return parse_scorecard(document)


def with_leader(ctx: Context, email: str) -> Context:
    config = ctx.config.model_copy(update={"review": ReviewOptions(leadership_owner=email)})
    return Context(ctx.settings, ctx.name, config, ctx.engine)


def test_nothing_is_written_before_approval(ctx: Context, hs: HubSpotHarness) -> None:
    """Without an approved version no account is scored or written."""
    summary = run_cycle(ctx, hs.connector)
    assert summary.status == "ok" and summary.written == 0 and summary.scored == 0
    assert hs.write_calls() == 0 and "no approved scorecard" in (summary.message or "")


def test_approval_rescores_everything_and_rollback_restores(ctx: Context, hs: HubSpotHarness) -> None:
    """Approving a new version rewrites every changed account; rolling back restores the earlier values."""
    approve_starter(ctx)
    run_cycle(ctx, hs.connector)
    first = {i: crm_values(hs, i) for i in hs.account_ids()}
    v2 = ctx.versions.create(variant_card(), by="revops", now=utcnow())  # type: ignore[arg-type]
    approve_version(ctx.versions, v2.version, by=APPROVER, now=utcnow(), accept_risks=True, note="test")
    second = run_cycle(ctx, hs.connector)
    assert second.version == "v2" and second.written == 200
    assert all(crm_values(hs, i)["icp_scorecard_version"] == "v2" for i in hs.account_ids())
    assert any(crm_values(hs, i)["icp_fit_score"] != first[i]["icp_fit_score"] for i in hs.account_ids())
    approve_version(ctx.versions, 1, by=APPROVER, now=utcnow(), accept_risks=True, note="rollback")
    third = run_cycle(ctx, hs.connector)
    assert third.version == "v1" and third.written == 200
    assert {i: crm_values(hs, i) for i in hs.account_ids()} == first


def test_manual_override_wins_and_is_never_overwritten(ctx: Context, hs: HubSpotHarness) -> None:
    """A person's override sets the fit score shown, with its reason; the override itself is untouched."""
    approve_starter(ctx)
    account = hs.account_ids()[3]
    hs.server.update_company(account, {"icp_fit_override": "90", "icp_fit_override_reason": "strategic logo"})
    first = run_cycle(ctx, hs.connector)
    assert first.overrides == 1
    values = crm_values(hs, account)
    assert values["icp_fit_score"] == "90" and values["icp_fit_tier"] == "A"
    assert (values["icp_fit_reasons"] or "").startswith("manual override 90: strategic logo")
    assert run_cycle(ctx, hs.connector).written == 0
    assert hs.server.companies.value(account, "icp_fit_override") == "90"
    assert hs.server.companies.value(account, "icp_fit_override_reason") == "strategic logo"


def test_tier_drop_creates_one_owner_task_on_the_right_account(ctx: Context, hs: HubSpotHarness) -> None:
    """An account that falls two tiers gets one review task for its owner, associated with it, once."""
    approve_starter(ctx)
    run_cycle(ctx, hs.connector)
    with Session(ctx.engine) as session:
        top = session.execute(select(AccountScore.account_id).where(AccountScore.tier == "A")
                              .order_by(AccountScore.account_id)).scalars().first()
    assert top is not None
    hs.server.update_company(top, {"industry": "RETAIL", "numberofemployees": "12", "uses_data_warehouse": "false"})
    second = run_cycle(ctx, hs.connector)
    assert second.tasks_created == 1
    tasks = list(hs.server.tasks.ids())
    assert len(tasks) == 1
    assert hs.server.associated_ids("tasks", tasks[0], "companies") == [top]
    assert hs.server.tasks.value(tasks[0], "hubspot_owner_id") == hs.server.companies.value(top, "hubspot_owner_id")
    assert "tier A to" in (hs.server.tasks.value(tasks[0], "hs_task_subject") or "")
    third = run_cycle(ctx, hs.connector)
    assert third.tasks_created == 0 and len(list(hs.server.tasks.ids())) == 1


def test_one_leadership_task_per_proposal_even_when_repeated_or_interrupted(ctx: Context,
                                                                            hs: HubSpotHarness) -> None:
    """A proposed version gets exactly one leadership task across re-runs and after a crash mid-creation."""
    run_cycle(ctx, hs.connector)
    with Session(ctx.engine) as session:
        leader = session.execute(select(Owner.email).where(Owner.connection == ctx.name)
                                 .order_by(Owner.id)).scalars().first()
    assert leader is not None
    ctx = with_leader(ctx, leader)
    proposal = ctx.versions.create(variant_card(), by="revops", now=utcnow())  # type: ignore[arg-type]
    assert run_cycle(ctx, hs.connector).tasks_created == 1
    assert run_cycle(ctx, hs.connector).tasks_created == 0
    assert len(list(hs.server.tasks.ids())) == 1
    second = ctx.versions.create(variant_card(), by="revops", now=utcnow() + timedelta(seconds=1))  # type: ignore[arg-type]
    key = task_key(ctx.name, "leadership", "proposal", second.version, second.created_at)
    owner = hs.server.tasks.value(next(iter(hs.server.tasks.ids())), "hubspot_owner_id")
    hs.connector.create_task(TaskRequest(key=key, subject="created just before a crash", body="...",
                                         due=WORLD_NOW, owner_id=owner))
    with Session(ctx.engine) as session:  # the proposal recorded it; a run was killed during the CRM call
        row = session.get(ReviewTask, (ctx.name, key))
        assert row is not None and row.status == "pending"
        row.attempts = 1
        session.add(row)
        session.commit()
    after_crash = run_cycle(ctx, hs.connector)
    assert after_crash.tasks_created == 0 and len(list(hs.server.tasks.ids())) == 2
    body = hs.server.tasks.value(sorted(hs.server.tasks.ids())[0], "hs_task_body") or ""
    assert ctx.settings.proposal_url(ctx.name, proposal.version) in body and "Outcome of the analysis" in body
    assert "Outcome: superseded by " in body
    assert hs.server.tasks.value(sorted(hs.server.tasks.ids())[0], "hs_task_status") == "COMPLETED"


def test_leadership_task_without_an_owner_is_reported(ctx: Context, hs: HubSpotHarness) -> None:
    """When no leadership owner is assigned, the run says so instead of silently skipping the task."""
    ctx.versions.create(variant_card(), by="revops", now=utcnow())  # type: ignore[arg-type]
    summary = run_cycle(ctx, hs.connector)
    assert summary.tasks_created == 0 and any("leadership review of v1" in u for u in summary.tasks_unassigned)
