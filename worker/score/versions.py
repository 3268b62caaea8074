"""Scorecard versions and their lifecycle.

draft → proposed → approved → retired; a proposed version may instead be rejected, or superseded
by a newer proposal. Exactly one version is approved (in force) per connection. Every transition
records who, when, through which channel and why in ``version_event``, which is never deleted.
Only the connection's approvers may approve or reject (:mod:`worker.score.signoff`); with required
roles a version takes effect only once a holder of each role has approved. A version with open
risks (failed stop gates, a hand-written hypothesis) needs those risks explicitly accepted.
Rolling back is approving an earlier version again, with the same checks.

Side effects of a transition (the CRM tasks it asks for or completes) are recorded by the
``recorders`` given to :class:`Versions`, inside the transaction that makes the transition, so a
change and the work it implies are stored together or not at all.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlmodel import Session, col

from worker.score.scorecard import Scorecard, dump_scorecard, load_scorecard
from worker.score.signoff import Actor, SignOff, SignOffPolicy, Transition, as_actor
from worker.store import ScorecardVersionRow, VersionEvent, session_scope

DRAFT, PROPOSED, APPROVED, RETIRED, REJECTED, SUPERSEDED = (
    "draft", "proposed", "approved", "retired", "rejected", "superseded")
APPROVABLE = frozenset({PROPOSED, RETIRED})
PENDING = PROPOSED
Recorder = Callable[[Session, Transition], None]
"""Records a transition's side effects with the session of the transition itself."""
Attach = Callable[[Session, int], None]
"""Stores what belongs to a new version (its brief, its impact) in the version's own transaction."""


class GovernanceError(ValueError):
    """A lifecycle action was refused; the message says why and what would allow it."""


@dataclass(frozen=True)
class VersionInfo:
    """A scorecard version as the CLI, the pages and the cycle see it."""

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
    document: str = ""

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
        if gate == "no_improvement" and not any(r.startswith("no_improvement") for r in found):
            found.append("no_improvement: the proposal does not beat the version in force on the same held-out deals")
        if self.kind == "hypothesis" and not self.evidence.get("alignment_checked"):
            found.append("hand-written hypothesis scorecard: its criteria are not backed by evidence")
        return found


@dataclass(frozen=True)
class VersionSummary:
    """A version's lifecycle facts without its parsed scorecard (cheap to list)."""

    version: int
    status: str
    name: str
    kind: str
    created_at: datetime | None
    created_by: str | None
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    effective_at: datetime | None

    @property
    def label(self) -> str:
        """``v3``."""
        return f"v{self.version}"


@lru_cache(maxsize=128)
def _parsed(document: str) -> Scorecard:
    """A stored scorecard document, parsed once (documents never change once stored; scorecards are frozen)."""
    return load_scorecard(document)


def _info(row: ScorecardVersionRow) -> VersionInfo:
    return VersionInfo(row.version, row.status, row.name, row.kind, _parsed(row.document), dict(row.evidence),
                       row.created_at, row.created_by, row.decided_by, row.decided_at, row.decision_note,
                       row.effective_at, row.document)


class Versions:
    """The scorecard versions of one connection."""

    def __init__(self, engine: Engine, connection: str, policy: SignOffPolicy | Sequence[str],
                 recorders: Sequence[Recorder] = ()) -> None:
        self.engine, self.connection = engine, connection
        self.policy = policy if isinstance(policy, SignOffPolicy) else SignOffPolicy.of(policy)
        self.recorders = list(recorders)

    @property
    def approvers(self) -> frozenset[str]:
        """Everyone who may approve or reject (listed approvers and role holders)."""
        return frozenset(self.policy.deciders())

    # reading

    def list(self) -> builtins.list[VersionInfo]:
        """Every version, oldest first."""
        with Session(self.engine) as session:
            rows = session.execute(select(ScorecardVersionRow).where(
                col(ScorecardVersionRow.connection) == self.connection).order_by(
                col(ScorecardVersionRow.version))).scalars()
            return [_info(r) for r in rows]

    def summaries(self) -> builtins.list[VersionSummary]:
        """Every version's lifecycle facts, newest first, without parsing any scorecard."""
        row = ScorecardVersionRow
        columns = (col(row.version), col(row.status), col(row.name), col(row.kind), col(row.created_at),
                   col(row.created_by), col(row.decided_by), col(row.decided_at), col(row.decision_note),
                   col(row.effective_at))
        with Session(self.engine) as session:
            rows = session.execute(select(*columns).where(col(ScorecardVersionRow.connection) == self.connection)
                                   .order_by(col(ScorecardVersionRow.version).desc())).all()
        return [VersionSummary(*row) for row in rows]

    def get(self, version: int) -> VersionInfo:
        """One version; :class:`GovernanceError` when it does not exist."""
        with Session(self.engine) as session:
            return _info(self._row(session, version))

    def in_force(self) -> VersionInfo | None:
        """The approved version, or None: until one is approved the worker writes no scores."""
        with Session(self.engine) as session:
            row = session.execute(select(ScorecardVersionRow).where(
                col(ScorecardVersionRow.connection) == self.connection,
                col(ScorecardVersionRow.status) == APPROVED)).scalars().first()
            return _info(row) if row else None

    def pending(self) -> builtins.list[VersionInfo]:
        """The versions waiting for a decision (proposed), newest first."""
        return [self.get(s.version) for s in self.summaries() if s.status == PROPOSED]

    def history(self, version: int | None = None) -> builtins.list[VersionEvent]:
        """The recorded transitions, oldest first."""
        with Session(self.engine) as session:
            query = select(VersionEvent).where(col(VersionEvent.connection) == self.connection)
            if version is not None:
                query = query.where(col(VersionEvent.version) == version)
            return list(session.execute(query.order_by(col(VersionEvent.id))).scalars())

    def signoffs(self, version: int) -> builtins.list[SignOff]:
        """The approvals on record for ``version`` since it last became approvable."""
        with Session(self.engine) as session:
            return _signoffs(session, self.connection, version)

    def outstanding(self, version: int) -> tuple[str, ...]:
        """The required roles still to sign ``version``."""
        return self.policy.outstanding(self.signoffs(version))

    def completes(self, version: int, by: str | Actor) -> bool:
        """Whether an approval by ``by`` now would put ``version`` in force (no other role left to sign)."""
        actor = as_actor(by)
        mine = SignOff(actor.key, self.policy.roles_of(actor.key), None, actor.channel, None)
        return not self.policy.outstanding([*self.signoffs(version), mine])

    # changing

    def create(self, card: Scorecard, *, by: str | Actor, now: datetime, status: str = PROPOSED,
               evidence: dict[str, Any] | None = None, note: str | None = None,
               attach: Attach | None = None) -> VersionInfo:
        """Store a new version (draft or proposed) with its evidence, in one transaction.

        ``attach`` stores what belongs to the version (its brief) in the same transaction, before the
        recorders run, so they can read it. A new proposal supersedes every older proposal still pending.
        """
        if status not in (DRAFT, PROPOSED):
            raise GovernanceError("a new version starts as draft or proposed")
        actor = as_actor(by)
        with session_scope(self.engine) as session:
            latest = session.execute(select(func.max(col(ScorecardVersionRow.version))).where(
                col(ScorecardVersionRow.connection) == self.connection)).scalar()
            number = (latest or 0) + 1
            session.add(ScorecardVersionRow(connection=self.connection, version=number, status=status,
                                            name=card.name, kind=card.kind, document=dump_scorecard(card),
                                            evidence=evidence or {}, created_at=now, created_by=actor.name))
            session.flush()
            if status == PROPOSED:
                self._supersede_older(session, number, actor, now)
            if attach is not None:
                attach(session, number)
            action = "proposed" if status == PROPOSED else "drafted"
            self._record(session, Transition(self.connection, number, action, None, status, actor, now, note,
                                             outstanding=self.policy.required))
        return self.get(number)

    def propose(self, version: int, *, by: str | Actor, now: datetime) -> VersionInfo:
        """Move a draft to proposed (superseding older pending proposals)."""
        actor = as_actor(by)
        with session_scope(self.engine) as session:
            row = self._locked(session, version)
            if row.status != DRAFT:
                raise GovernanceError(f"version {version} is {row.status}; only a draft can be proposed")
            row.status = PROPOSED
            session.add(row)
            self._supersede_older(session, version, actor, now)
            self._record(session, Transition(self.connection, version, "proposed", DRAFT, PROPOSED, actor, now,
                                             outstanding=self.policy.required))
        return self.get(version)

    def check_approvable(self, version: int, *, by: str | Actor, accept_risks: bool = False) -> VersionInfo:
        """The version, if ``by`` may approve it now; :class:`GovernanceError` saying why not otherwise."""
        actor = as_actor(by)
        self._check_decider(actor)
        target = self.get(version)
        _check_status(target.status, version)
        risks = target.risks()
        if risks and not accept_risks:
            listed = "; ".join(risks)
            raise GovernanceError(f"version {version} has open risks: {listed}. Approve only if you accept them "
                                  "(--accept-risks), and say why in --note")
        if any(s.actor == actor.key for s in self.signoffs(version)):
            raise GovernanceError(f"{actor.name} has already approved version {version}; it waits for "
                                  + ", ".join(self.outstanding(version)))
        return target

    def approve(self, version: int, *, by: str | Actor, now: datetime, note: str | None = None,
                accept_risks: bool = False, baseline: dict[str, Any] | None = None) -> VersionInfo:
        """Approve a proposed (or earlier, retired) version for the roles ``by`` holds.

        When every required role has then signed (or none is required), the version takes effect
        and the one in force is retired; otherwise the approval is recorded and the version stays
        pending. ``baseline`` is the score distribution drift will be measured against; the
        approval flow (:func:`worker.govern.approval.approve_version`) takes it from the store.
        """
        actor = as_actor(by)
        target = self.check_approvable(version, by=actor, accept_risks=accept_risks)
        risks = target.risks()
        accepted = f" (accepted risks: {'; '.join(risks)})" if risks else ""
        with session_scope(self.engine) as session:
            row = self._locked(session, version)
            _check_status(row.status, version)
            signed = _signoffs(session, self.connection, version)
            if any(s.actor == actor.key for s in signed):
                raise GovernanceError(f"{actor.name} has already approved version {version}")
            mine = SignOff(actor.key, self.policy.roles_of(actor.key), now, actor.channel, note)
            outstanding = self.policy.outstanding([*signed, mine])
            if outstanding:
                self._record(session, Transition(self.connection, version, "signed", row.status, row.status, actor,
                                                 now, (note or "") + accepted, mine.roles, outstanding))
                return _info(row)
            self._put_in_force(session, row, actor, now, note, bool(risks), baseline)
            action = "rolled_back" if row.status == RETIRED else "approved"
            self._record(session, Transition(self.connection, version, action, row.status, APPROVED, actor, now,
                                             (note or "") + accepted, mine.roles))
            row.status = APPROVED
            session.add(row)
        return self.get(version)

    def record_baseline(self, version: int, baseline: dict[str, Any]) -> None:
        """Keep the score distribution drift is measured against (set once, when a version first scores)."""
        with session_scope(self.engine) as session:
            row = session.get(ScorecardVersionRow, (self.connection, version))
            if row is not None and not (row.evidence or {}).get("baseline"):
                row.evidence = {**row.evidence, "baseline": baseline}
                session.add(row)

    def reject(self, version: int, *, by: str | Actor, now: datetime, note: str) -> VersionInfo:
        """Reject a proposed version; a reason is required, and one rejection is enough."""
        actor = as_actor(by)
        self._check_decider(actor)
        if not note.strip():
            raise GovernanceError("a rejection needs a note saying why")
        with session_scope(self.engine) as session:
            row = self._locked(session, version)
            if row.status != PROPOSED:
                raise GovernanceError(f"version {version} is {row.status}; only a proposed version can be rejected")
            self._record(session, Transition(self.connection, version, "rejected", PROPOSED, REJECTED, actor, now,
                                             note, self.policy.roles_of(actor.key)))
            row.status, row.decided_by, row.decided_at, row.decision_note = REJECTED, actor.name, now, note
            session.add(row)
        return self.get(version)

    # inside a transaction

    def _put_in_force(self, session: Session, row: ScorecardVersionRow, actor: Actor, now: datetime,
                      note: str | None, risks_accepted: bool, baseline: dict[str, Any] | None) -> None:
        current = session.execute(select(ScorecardVersionRow).where(
            col(ScorecardVersionRow.connection) == self.connection, col(ScorecardVersionRow.status) == APPROVED,
            col(ScorecardVersionRow.version) != row.version).with_for_update()).scalars().first()
        if current is not None:
            current.status = RETIRED
            session.add(current)
            self._record(session, Transition(self.connection, current.version, "retired", APPROVED, RETIRED, actor,
                                             now, f"replaced by v{row.version}"))
        row.decided_by, row.decided_at, row.decision_note = actor.name, now, note
        row.risks_accepted, row.effective_at = risks_accepted, now
        if baseline and baseline.get("n"):
            row.evidence = {**row.evidence, "baseline": baseline}

    def _supersede_older(self, session: Session, newer: int, actor: Actor, now: datetime) -> None:
        older = session.execute(select(ScorecardVersionRow).where(
            col(ScorecardVersionRow.connection) == self.connection, col(ScorecardVersionRow.status) == PROPOSED,
            col(ScorecardVersionRow.version) != newer).with_for_update()).scalars().all()
        for row in older:
            row.status = SUPERSEDED
            session.add(row)
            self._record(session, Transition(self.connection, row.version, "superseded", PROPOSED, SUPERSEDED,
                                             actor, now, f"superseded by v{newer}"))

    def _record(self, session: Session, change: Transition) -> None:
        session.add(VersionEvent(connection=change.connection, version=change.version,
                                 from_status=change.from_status, to_status=change.to_status,
                                 actor=change.actor.name, at=change.at, note=change.note, action=change.action,
                                 channel=change.actor.channel, os_user=change.actor.os_user,
                                 roles=list(change.roles)))
        session.flush()
        for recorder in self.recorders:
            recorder(session, change)

    def _row(self, session: Session, version: int) -> ScorecardVersionRow:
        row = session.get(ScorecardVersionRow, (self.connection, version))
        if row is None:
            raise GovernanceError(f"version {version} does not exist for connection {self.connection!r}")
        return row

    def _locked(self, session: Session, version: int) -> ScorecardVersionRow:
        """The version's row, locked for this transaction (a write first, so SQLite serialises too)."""
        session.execute(update(ScorecardVersionRow).where(
            col(ScorecardVersionRow.connection) == self.connection, col(ScorecardVersionRow.version) == version
        ).values(status=col(ScorecardVersionRow.status)))
        return self._row(session, version)

    def _check_decider(self, actor: Actor) -> None:
        if not self.policy.may_decide(actor.key):
            named = ", ".join(self.policy.deciders()) or "nobody (set approvers in the config)"
            raise GovernanceError(f"{actor.name!r} is not an approver for connection {self.connection!r}; "
                                  f"approvers: {named}")


def _check_status(status: str, version: int) -> None:
    if status not in APPROVABLE:
        raise GovernanceError(f"version {version} is {status}; only a proposed or retired version can be approved")


def _signoffs(session: Session, connection: str, version: int) -> builtins.list[SignOff]:
    """Approvals recorded since the version last became approvable (a rollback starts a new round)."""
    events = session.execute(select(VersionEvent).where(
        col(VersionEvent.connection) == connection, col(VersionEvent.version) == version).order_by(
        col(VersionEvent.id))).scalars()
    found: list[SignOff] = []
    for event in events:
        if event.to_status in APPROVABLE and event.from_status != event.to_status:
            found = []
        elif event.action == "signed":
            found.append(SignOff(event.actor.strip().lower(), tuple(event.roles or ()), event.at, event.channel,
                                 event.note))
    return found
