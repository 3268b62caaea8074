"""Scorecard version lifecycle: named approvers, risks, one version in force, history never lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from worker.score.scorecard import load_scorecard
from worker.score.versions import APPROVED, PROPOSED, REJECTED, RETIRED, GovernanceError, Versions
from worker.settings import DEFAULT_CONFIG

NOW = datetime(2026, 11, 1, tzinfo=UTC)
BOSS = "ceo@example.com"


@pytest.fixture
def versions(engine: Engine) -> Versions:
    return Versions(engine, "main", [BOSS, "cro@example.com"])


def starter() -> object:
    return load_scorecard(DEFAULT_CONFIG / "starter-scorecard.yaml")


def test_nothing_in_force_until_approved(versions: Versions) -> None:
    """A proposed version is not in force."""
    versions.create(starter(), by="revops", now=NOW)
    assert versions.in_force() is None


def test_unlisted_approver_is_refused(versions: Versions) -> None:
    """Only approvers named in the config may approve or reject."""
    v = versions.create(starter(), by="revops", now=NOW)
    with pytest.raises(GovernanceError, match="not an approver"):
        versions.approve(v.version, by="intern@example.com", now=NOW, accept_risks=True)
    with pytest.raises(GovernanceError, match="not an approver"):
        versions.reject(v.version, by="intern@example.com", now=NOW, note="no")


def test_hypothesis_needs_risks_accepted(versions: Versions) -> None:
    """A hand-written hypothesis lists its risk and needs it explicitly accepted."""
    v = versions.create(starter(), by="revops", now=NOW)
    with pytest.raises(GovernanceError, match="open risks"):
        versions.approve(v.version, by=BOSS, now=NOW)
    approved = versions.approve(v.version, by="CEO@example.com", now=NOW, accept_risks=True, note="go")
    assert approved.status == APPROVED and versions.in_force() == approved


def test_failed_stop_gates_are_a_risk(versions: Versions) -> None:
    """Evidence from a refinement that failed its stop gates is listed as a risk."""
    v = versions.create(starter(), by="refine", now=NOW, evidence={"status": "stopped", "alignment_checked": True})
    assert any("stop gates" in r for r in v.risks())


def test_one_version_in_force_and_rollback(versions: Versions) -> None:
    """Approving a second version retires the first; rolling back approves the first again."""
    v1 = versions.create(starter(), by="revops", now=NOW)
    versions.approve(v1.version, by=BOSS, now=NOW, accept_risks=True)
    v2 = versions.create(starter(), by="revops", now=NOW + timedelta(days=1))
    versions.approve(v2.version, by=BOSS, now=NOW + timedelta(days=1), accept_risks=True)
    assert versions.get(1).status == RETIRED and versions.in_force().version == 2  # type: ignore[union-attr]
    versions.approve(1, by=BOSS, now=NOW + timedelta(days=2), accept_risks=True, note="rollback")
    assert versions.get(2).status == RETIRED and versions.in_force().version == 1  # type: ignore[union-attr]
    statuses = [(e.version, e.from_status, e.to_status) for e in versions.history()]
    assert statuses == [(1, None, PROPOSED), (1, PROPOSED, APPROVED), (2, None, PROPOSED), (1, APPROVED, RETIRED),
                        (2, PROPOSED, APPROVED), (2, APPROVED, RETIRED), (1, RETIRED, APPROVED)]


def test_reject_needs_a_reason_and_is_final(versions: Versions) -> None:
    """A rejection records who and why; a rejected version cannot be approved."""
    v = versions.create(starter(), by="revops", now=NOW)
    with pytest.raises(GovernanceError, match="note"):
        versions.reject(v.version, by=BOSS, now=NOW, note=" ")
    rejected = versions.reject(v.version, by=BOSS, now=NOW, note="anecdotal")
    assert rejected.status == REJECTED and rejected.decision_note == "anecdotal"
    with pytest.raises(GovernanceError, match="rejected"):
        versions.approve(v.version, by=BOSS, now=NOW, accept_risks=True)


def test_connections_do_not_see_each_others_versions(engine: Engine) -> None:
    """Versions belong to one connection."""
    a, b = Versions(engine, "a", [BOSS]), Versions(engine, "b", [BOSS])
    a.create(starter(), by="x", now=NOW)
    assert b.list() == [] and a.list()[0].version == 1
    assert b.create(starter(), by="x", now=NOW).version == 1
