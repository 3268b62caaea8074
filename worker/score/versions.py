"""Scorecard versions and their lifecycle: draft → proposed → approved → retired, or proposed → rejected.

Exactly one version is approved (in force) per connection. Every transition
records who, when and why in ``version_event``, which is never deleted. Only
approvers named in the config may approve or reject; a version with open risks
(failed stop gates, or a hand-written hypothesis) needs those risks explicitly
accepted. Rolling back is approving an earlier version again, with the same checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from worker.score.scorecard import Scorecard, dump_scorecard, load_scorecard
from worker.store import ScorecardVersionRow, VersionEvent, session_scope

DRAFT, PROPOSED, APPROVED, RETIRED, REJECTED = "draft", "proposed", "approved", "retired", "rejected"
APPROVABLE = frozenset({PROPOSED, RETIRED})


class GovernanceError(ValueError):
    """A lifecycle action was refused; the message says why and what would allow it."""


@dataclass(frozen=True)
class VersionInfo:
    """A scorecard version as the CLI and the cycle see it."""

    version: int
    status: str
    name: str
    kind: str
    scorecard: Scorecard
    evidence: dict[str, Any]
    created_at: datetime | None
    created_by: str | None
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    effective_at: datetime | None

    @property
    def label(self) -> str:
        """How the version is named on CRM records, e.g. ``v3``."""
        return f"v{self.version}"

    def risks(self) -> list[str]:
        """What an approver must explicitly accept before this version can be approved."""
        found = list(self.evidence.get("risks", []))
        gate = self.evidence.get("status")
        if gate in ("stopped", "hypothesis"):
            found.append(f"refinement stop gates failed (status {gate}); outputs are hypotheses")
        if gate == "no_lift":
            found.append("refinement found no reliable lift over the base rate")
        if self.kind == "hypothesis" and not self.evidence.get("alignment_checked"):
            found.append("hand-written hypothesis scorecard: its criteria are not backed by evidence")
        return found


def _info(row: ScorecardVersionRow) -> VersionInfo:
    return VersionInfo(row.version, row.status, row.name, row.kind, load_scorecard(row.document), dict(row.evidence),
                       row.created_at, row.created_by, row.decided_by, row.decided_at, row.decision_note,
                       row.effective_at)


class Versions:
    """The scorecard versions of one connection."""

    def __init__(self, engine: Engine, connection: str, approvers: Sequence[str]) -> None:
        self.engine, self.connection = engine, connection
        self.approvers = frozenset(a.strip().lower() for a in approvers)

    def list(self) -> list[VersionInfo]:
        """Every version, oldest first."""
        with Session(self.engine) as session:
            rows = session.execute(select(ScorecardVersionRow).where(
                ScorecardVersionRow.connection == self.connection).order_by(ScorecardVersionRow.version)).scalars()
            return [_info(r) for r in rows]

    def get(self, version: int) -> VersionInfo:
        """One version; :class:`GovernanceError` when it does not exist."""
        with Session(self.engine) as session:
            row = session.get(ScorecardVersionRow, (self.connection, version))
            if row is None:
                raise GovernanceError(f"version {version} does not exist for connection {self.connection!r}")
            return _info(row)

    def in_force(self) -> VersionInfo | None:
        """The approved version, or None: until one is approved the worker writes no scores."""
        with Session(self.engine) as session:
            row = session.execute(select(ScorecardVersionRow).where(
                ScorecardVersionRow.connection == self.connection,
                ScorecardVersionRow.status == APPROVED)).scalars().first()
            return _info(row) if row else None

    def history(self, version: int | None = None) -> list[VersionEvent]:
        """The recorded transitions, oldest first."""
        with Session(self.engine) as session:
            query = select(VersionEvent).where(VersionEvent.connection == self.connection)
            if version is not None:
                query = query.where(VersionEvent.version == version)
            return list(session.execute(query.order_by(VersionEvent.id)).scalars())

    def create(self, card: Scorecard, *, by: str, now: datetime, status: str = PROPOSED,
               evidence: dict[str, Any] | None = None, note: str | None = None) -> VersionInfo:
        """Store a new version (draft or proposed) with its evidence."""
        if status not in (DRAFT, PROPOSED):
            raise GovernanceError("a new version starts as draft or proposed")
        with session_scope(self.engine) as session:
            latest = session.execute(select(func.max(ScorecardVersionRow.version)).where(
                ScorecardVersionRow.connection == self.connection)).scalar()
            number = (latest or 0) + 1
            row = ScorecardVersionRow(connection=self.connection, version=number, status=status, name=card.name,
                                      kind=card.kind, document=dump_scorecard(card), evidence=evidence or {},
                                      created_at=now, created_by=by)
            session.add(row)
            self._event(session, number, None, status, by, now, note)
        return self.get(number)

    def propose(self, version: int, *, by: str, now: datetime) -> VersionInfo:
        """Move a draft to proposed."""
        return self._transition(version, {DRAFT}, PROPOSED, by, now, None)

    def check_approvable(self, version: int, *, by: str, accept_risks: bool = False) -> VersionInfo:
        """The version, if ``by`` may approve it now; :class:`GovernanceError` saying why not otherwise."""
        self._check_approver(by)
        target = self.get(version)
        if target.status not in APPROVABLE:
            raise GovernanceError(f"version {version} is {target.status}; only a proposed or retired version "
                                  "can be approved")
        risks = target.risks()
        if risks and not accept_risks:
            listed = "; ".join(risks)
            raise GovernanceError(f"version {version} has open risks: {listed}. Approve only if you accept them "
                                  "(--accept-risks), and say why in --note")
        return target

    def approve(self, version: int, *, by: str, now: datetime, note: str | None = None,
                accept_risks: bool = False, baseline: dict[str, Any] | None = None) -> VersionInfo:
        """Approve a proposed (or earlier, retired) version; the one in force is retired.

        ``baseline`` is the score distribution drift will be measured against; the approval
        flow (:func:`worker.govern.approval.approve_version`) takes it from the store.
        """
        target = self.check_approvable(version, by=by, accept_risks=accept_risks)
        risks = target.risks()
        with session_scope(self.engine) as session:
            current = session.execute(select(ScorecardVersionRow).where(
                ScorecardVersionRow.connection == self.connection,
                ScorecardVersionRow.status == APPROVED).with_for_update()).scalars().first()
            if current is not None:
                current.status = RETIRED
                session.add(current)
                self._event(session, current.version, APPROVED, RETIRED, by, now, f"replaced by v{version}")
            row = session.get(ScorecardVersionRow, (self.connection, version))
            assert row is not None
            previous = row.status
            row.status, row.decided_by, row.decided_at, row.decision_note = APPROVED, by, now, note
            row.risks_accepted, row.effective_at = bool(risks), now
            if baseline and baseline.get("n"):
                row.evidence = {**row.evidence, "baseline": baseline}
            session.add(row)
            accepted = f" (accepted risks: {'; '.join(risks)})" if risks else ""
            self._event(session, version, previous, APPROVED, by, now, (note or "") + accepted)
        return self.get(version)

    def record_baseline(self, version: int, baseline: dict[str, Any]) -> None:
        """Keep the score distribution drift is measured against (set once, when a version first scores)."""
        with session_scope(self.engine) as session:
            row = session.get(ScorecardVersionRow, (self.connection, version))
            if row is not None and not (row.evidence or {}).get("baseline"):
                row.evidence = {**row.evidence, "baseline": baseline}
                session.add(row)

    def reject(self, version: int, *, by: str, now: datetime, note: str) -> VersionInfo:
        """Reject a proposed version; a reason is required."""
        self._check_approver(by)
        if not note.strip():
            raise GovernanceError("a rejection needs a note saying why")
        return self._transition(version, {PROPOSED}, REJECTED, by, now, note, decided=True)

    def _transition(self, version: int, allowed: set[str], to: str, by: str, now: datetime, note: str | None,
                    decided: bool = False) -> VersionInfo:
        with session_scope(self.engine) as session:
            row = session.get(ScorecardVersionRow, (self.connection, version))
            if row is None:
                raise GovernanceError(f"version {version} does not exist for connection {self.connection!r}")
            if row.status not in allowed:
                raise GovernanceError(f"version {version} is {row.status}; cannot move it to {to}")
            previous, row.status = row.status, to
            if decided:
                row.decided_by, row.decided_at, row.decision_note = by, now, note
            session.add(row)
            self._event(session, version, previous, to, by, now, note)
        return self.get(version)

    def _check_approver(self, who: str) -> None:
        if who.strip().lower() not in self.approvers:
            named = ", ".join(sorted(self.approvers)) or "nobody (set approvers in the config)"
            raise GovernanceError(f"{who!r} is not an approver for connection {self.connection!r}; "
                                  f"approvers: {named}")

    def _event(self, session: Session, version: int, from_status: str | None, to_status: str, actor: str,
               now: datetime, note: str | None) -> None:
        session.add(VersionEvent(connection=self.connection, version=version, from_status=from_status,
                                 to_status=to_status, actor=actor, at=now, note=note))
