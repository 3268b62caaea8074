"""Sign-off by role: required roles, any rejection rejects, newer proposals supersede, channels recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from worker.score.scorecard import Scorecard, load_scorecard, parse_scorecard
from worker.score.signoff import CLI, WEB, Actor, SignOffPolicy, Transition
from worker.score.versions import APPROVED, PROPOSED, REJECTED, RETIRED, SUPERSEDED, GovernanceError, Versions
from worker.settings import DEFAULT_CONFIG
from worker.store import ScorecardVersionRow, VersionEvent

NOW = datetime(2026, 11, 1, tzinfo=UTC)
FOUNDER, CRO, CS, ANALYST = "founder@example.com", "cro@example.com", "cs-lead@example.com", "analyst@example.com"
POLICY = SignOffPolicy.of([FOUNDER], {"sales": [CRO], "delivery": [CS, "cs-deputy@example.com"]},
                          ["sales", "delivery"], [ANALYST])


def starter(points: int | None = None) -> Scorecard:
    """The starter scorecard; with ``points``, its first bin scores that many points instead."""
    document = load_scorecard(DEFAULT_CONFIG / "starter-scorecard.yaml").model_dump(mode="json", exclude_none=True)
    if points is not None:
        document["criteria"][0]["bins"][0]["points"] = points
    return parse_scorecard(document)


@pytest.fixture
def recorded() -> list[Transition]:
    return []


@pytest.fixture
def versions(engine: Engine, recorded: list[Transition]) -> Versions:
    return Versions(engine, "main", POLICY, recorders=[lambda _session, change: recorded.append(change)])


def test_policy_reads_roles_from_config_values() -> None:
    """Role holders are approvers for their role; viewers may only read; the first holder reviews."""
    assert POLICY.may_decide("CRO@example.com ") and POLICY.roles_of(CRO) == ("sales",)
    assert POLICY.may_decide(FOUNDER) and POLICY.roles_of(FOUNDER) == ()
    assert not POLICY.may_decide(ANALYST) and POLICY.may_read(ANALYST) and not POLICY.may_read("x@example.com")
    assert POLICY.reviewer("delivery") == CS and POLICY.reviewer("legal") is None


def test_version_takes_effect_only_when_every_required_role_signed(versions: Versions,
                                                                   recorded: list[Transition]) -> None:
    """Sales alone leaves it pending; the founder's approval holds no role; delivery completes it."""
    v = versions.create(starter(), by="revops", now=NOW, evidence={"alignment_checked": True, "status": "proposed"})
    after_sales = versions.approve(v.version, by=Actor(CRO, WEB), now=NOW, note="pipeline fits")
    assert after_sales.status == PROPOSED and versions.outstanding(v.version) == ("delivery",)
    assert versions.in_force() is None
    with pytest.raises(GovernanceError, match="already approved"):
        versions.approve(v.version, by=Actor(CRO, WEB), now=NOW)
    founder = versions.approve(v.version, by=Actor(FOUNDER, CLI, "ana"), now=NOW, note="fine by me")
    assert founder.status == PROPOSED and versions.outstanding(v.version) == ("delivery",)
    final = versions.approve(v.version, by=Actor(CS, WEB), now=NOW + timedelta(hours=1), note="we can deliver")
    assert final.status == APPROVED and final.decided_by == CS and versions.in_force() == final
    assert [(c.action, c.roles, c.outstanding) for c in recorded] == [
        ("proposed", (), ("sales", "delivery")), ("signed", ("sales",), ("delivery",)),
        ("signed", (), ("delivery",)), ("approved", ("delivery",), ())]
    events = versions.history(v.version)
    assert [(e.action, e.channel, e.os_user) for e in events] == [
        ("proposed", "worker", None), ("signed", "web", None), ("signed", "cli", "ana"), ("approved", "web", None)]


def test_any_rejection_rejects(versions: Versions) -> None:
    """After sales approved, one rejection by delivery rejects the version for good."""
    v = versions.create(starter(), by="revops", now=NOW, evidence={"alignment_checked": True})
    versions.approve(v.version, by=Actor(CRO, WEB), now=NOW, note="ok")
    rejected = versions.reject(v.version, by=Actor(CS, WEB), now=NOW, note="we cannot onboard these")
    assert rejected.status == REJECTED and versions.in_force() is None
    with pytest.raises(GovernanceError, match="rejected"):
        versions.approve(v.version, by=Actor(CS, WEB), now=NOW)


def test_viewer_and_stranger_cannot_decide(versions: Versions) -> None:
    """A viewer may read but neither approve nor reject."""
    v = versions.create(starter(), by="revops", now=NOW, evidence={"alignment_checked": True})
    for who in (ANALYST, "intern@example.com"):
        with pytest.raises(GovernanceError, match="not an approver"):
            versions.approve(v.version, by=Actor(who, WEB), now=NOW)
        with pytest.raises(GovernanceError, match="not an approver"):
            versions.reject(v.version, by=Actor(who, WEB), now=NOW, note="no")


def test_newer_proposal_supersedes_older_pending(versions: Versions, recorded: list[Transition]) -> None:
    """A new proposal supersedes the pending one; its sign-offs no longer count anywhere."""
    v1 = versions.create(starter(), by="revops", now=NOW, evidence={"alignment_checked": True})
    versions.approve(v1.version, by=Actor(CRO, WEB), now=NOW)
    v2 = versions.create(starter(1), by="refine", now=NOW + timedelta(days=1), evidence={"alignment_checked": True})
    assert versions.get(v1.version).status == SUPERSEDED and versions.get(v2.version).status == PROPOSED
    assert ("superseded", v1.version, f"superseded by v{v2.version}") in [
        (c.action, c.version, c.note) for c in recorded]
    with pytest.raises(GovernanceError, match="superseded"):
        versions.approve(v1.version, by=Actor(CS, WEB), now=NOW)
    assert versions.signoffs(v2.version) == [] and [v.version for v in versions.pending()] == [v2.version]


def test_rollback_needs_every_role_again(versions: Versions) -> None:
    """Approving an earlier version again is a new round: earlier sign-offs do not carry over."""
    v1 = versions.create(starter(), by="revops", now=NOW, evidence={"alignment_checked": True})
    for who in (CRO, CS):
        versions.approve(v1.version, by=Actor(who, WEB), now=NOW)
    v2 = versions.create(starter(1), by="revops", now=NOW, evidence={"alignment_checked": True})
    for who in (CRO, CS):
        versions.approve(v2.version, by=Actor(who, WEB), now=NOW)
    assert versions.get(v1.version).status == RETIRED
    assert versions.approve(v1.version, by=Actor(CRO, CLI, "ana"), now=NOW).status == RETIRED
    back = versions.approve(v1.version, by=Actor(CS, WEB), now=NOW, note="back")
    assert back.status == APPROVED and versions.get(v2.version).status == RETIRED
    assert versions.history(v1.version)[-1].action == "rolled_back"


def test_no_required_roles_one_approval_suffices(engine: Engine) -> None:
    """Today's behaviour without required roles: one approver puts the version in force."""
    versions = Versions(engine, "main", [FOUNDER])
    v = versions.create(starter(), by="revops", now=NOW, evidence={"alignment_checked": True})
    assert versions.approve(v.version, by=FOUNDER, now=NOW).status == APPROVED


def test_a_failed_attachment_stores_nothing(versions: Versions, engine: Engine) -> None:
    """A version and what belongs to it are one transaction: when storing its brief fails, no version remains."""
    def broken(_session: Session, _number: int) -> None:
        raise RuntimeError("killed while storing the brief")

    with pytest.raises(RuntimeError):
        versions.create(starter(), by="refine", now=NOW, attach=broken)
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(ScorecardVersionRow)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(VersionEvent)).scalar_one() == 0


def test_a_failed_recorder_undoes_the_transition(engine: Engine) -> None:
    """A side effect that cannot be recorded undoes the decision that implied it."""
    def failing(_session: Session, change: Transition) -> None:
        if change.action == "approved":
            raise RuntimeError("outbox unavailable")

    versions = Versions(engine, "main", [FOUNDER], recorders=[failing])
    v = versions.create(starter(), by="revops", now=NOW, evidence={"alignment_checked": True})
    with pytest.raises(RuntimeError):
        versions.approve(v.version, by=FOUNDER, now=NOW)
    assert versions.get(v.version).status == PROPOSED and versions.in_force() is None
