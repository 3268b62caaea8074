"""Approving a proposal that does not beat the version in force needs an explicit acceptance of that risk."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.contract.harness import APPROVER, HubSpotHarness, approve_starter, hubspot_harness, ready_context
from worker.context import Context
from worker.govern.approval import approve_version
from worker.operate.cycle import utcnow
from worker.score.scorecard import load_scorecard
from worker.score.versions import GovernanceError
from worker.settings import DEFAULT_CONFIG


@pytest.fixture
def ctx(engine: Engine) -> Iterator[Context]:
    with hubspot_harness(accounts=20) as harness:
        hs: HubSpotHarness = harness
        yield ready_context(engine, hs.connector)


def test_no_improvement_needs_accept_risks(ctx: Context) -> None:
    approve_starter(ctx)
    card = load_scorecard(DEFAULT_CONFIG / "starter-scorecard.yaml")
    risk = "no_improvement: ranks a won deal above a lost one 70% of the time, against 71% for v1"
    proposal = ctx.versions.create(card, by="icp refine", now=utcnow(),
                                   evidence={"status": "no_improvement", "risks": [risk], "alignment_checked": True})
    assert ctx.versions.get(proposal.version).risks() == [risk]
    with pytest.raises(GovernanceError, match="no_improvement"):
        approve_version(ctx.versions, proposal.version, by=APPROVER, now=utcnow(), note="looks fine")
    approved = approve_version(ctx.versions, proposal.version, by=APPROVER, now=utcnow(), accept_risks=True,
                               note="accepted: same ranking, clearer labels")
    assert approved.status == "approved"


def test_a_stored_no_improvement_status_alone_is_a_risk(ctx: Context) -> None:
    card = load_scorecard(DEFAULT_CONFIG / "starter-scorecard.yaml")
    proposal = ctx.versions.create(card, by="icp refine", now=utcnow(),
                                   evidence={"status": "no_improvement", "alignment_checked": True})
    assert any(r.startswith("no_improvement") for r in ctx.versions.get(proposal.version).risks())
