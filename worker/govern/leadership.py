"""Leadership review tasks in the CRM: one per required role, opened with a proposal, closed with its outcome.

A proposal asks each required role's reviewer (``review.roles``, the first person listed; with no
required roles, ``review.leadership_owner``) to review it. The task's body carries the version's
executive summary and the link to its review page. When a role signs, its task is completed with
that; when the version is approved, rejected or superseded, every task still open is completed with
the outcome written in. All of it is recorded by a version recorder
(:meth:`worker.context.Context.version_recorders`) in the transaction of the transition itself, and
sent by the outbox (:mod:`worker.writeback.outbox`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from connectors.base import TaskRequest
from worker.govern.briefs import read_summary
from worker.logs import get_logger
from worker.score.signoff import SignOffPolicy, Transition
from worker.settings import ReviewOptions
from worker.store import Owner, ReviewTask, ScorecardVersionRow
from worker.writeback.outbox import record_task, request_completion, task_key

log = get_logger("worker.govern.leadership")
PROPOSAL_KIND = "leadership-proposal"
DECIDED = {"approved": "approved", "rolled_back": "approved again (rolled back to it)", "rejected": "rejected",
           "superseded": "superseded"}

__all__ = ["LeadershipTasks", "impact_line", "leadership_recorder", "owner_id_for", "proposal_lines",
           "record_leadership"]


@dataclass(frozen=True)
class LeadershipTasks:
    """What leadership tasks need to know of a connection: who reviews, and where the review page is."""

    connection: str
    options: ReviewOptions
    policy: SignOffPolicy
    proposal_url: Callable[[int], str]


def _reviewers(config: LeadershipTasks) -> list[tuple[str | None, str | None]]:
    """(role, reviewer) pairs: one per required role, or the leadership owner when no role is required."""
    if config.policy.required:
        return [(role, config.policy.reviewer(role)) for role in config.policy.required]
    return [(None, config.options.leadership_owner)]


def leadership_body(config: LeadershipTasks, session: Session, row: ScorecardVersionRow, role: str | None) -> str:
    """The task body: who it asks, the executive summary (or the headline evidence), and the review page."""
    label = f"v{row.version}"
    ask = (f"Scorecard {label} ({row.name}) is proposed and needs the {role} review." if role
           else f"Scorecard {label} ({row.name}) is proposed and waits for a named approver.")
    summary = read_summary(session, config.connection, label)
    facts = dict(row.evidence or {})
    evidence = summary.text if summary is not None else "\n".join(proposal_lines(facts))
    impact = facts.get("impact")
    if summary is not None and isinstance(impact, dict) and impact.get("accounts"):
        evidence += "\n\n" + impact_line(impact)
    return "\n".join([ask, "", evidence, "",
                      f"Read the proposal and approve or reject it, with a note: {config.proposal_url(row.version)}"])


def record_leadership(session: Session, config: LeadershipTasks, version: int, now: datetime,
                      run_id: str | None = None, unassigned: list[str] | None = None) -> int:
    """Record the leadership tasks of a proposed version that are not recorded yet; how many were added."""
    row = session.get(ScorecardVersionRow, (config.connection, version))
    if row is None:
        return 0
    added = 0
    for role, reviewer in _reviewers(config):
        key = task_key(config.connection, "leadership", "proposal", version, row.created_at, *([role] if role else []))
        if session.get(ReviewTask, (config.connection, key)) is not None:
            continue
        owner = owner_id_for(session, config.connection, reviewer)
        if owner is None:
            if unassigned is not None:
                unassigned.append(f"{role or 'leadership'} review of v{version}: no CRM owner matches {reviewer!r}")
            log.warning("task.unassigned", version=version, role=role, reviewer=reviewer)
            continue
        subject = (f"ICP review ({role}): approve or reject scorecard v{version}" if role
                   else f"ICP review: approve or reject scorecard v{version}")
        request = TaskRequest(key=key, subject=subject, body=leadership_body(config, session, row, role),
                              owner_id=owner, due=now + timedelta(days=config.options.due_days), priority="HIGH")
        added += record_task(session, config.connection, PROPOSAL_KIND, request, version, run_id, now, role)
    return added


def owner_id_for(source: Engine | Session, connection: str, who: str | None) -> str | None:
    """A CRM owner id from an email or an id; None when nobody matches."""
    if not who:
        return None
    if isinstance(source, Engine):
        with Session(source) as session:
            return owner_id_for(session, connection, who)
    rows = source.execute(select(col(Owner.id), col(Owner.email)).where(col(Owner.connection) == connection)).all()
    for owner_id, email in rows:
        if who == owner_id or (email and who.strip().lower() == email.strip().lower()):
            return str(owner_id)
    return None


def proposal_lines(evidence: dict[str, object]) -> list[str]:
    """The headline evidence of a proposal, for its leadership task."""
    lines = [f"Outcome of the analysis: {evidence.get('headline') or 'hand-written version, no analysis'}"]
    readiness = evidence.get("readiness")
    if isinstance(readiness, dict):
        stops = readiness.get("stop_reasons") or []
        lines.append("Stop gates: " + ("FAILED - " + "; ".join(map(str, stops)) if stops else "passed"))
        lines.extend(f"Warning: {w}" for w in (readiness.get("warnings") or [])[:3])
    impact = evidence.get("impact")
    if isinstance(impact, dict) and impact.get("accounts"):
        lines.append(impact_line(impact))
    return lines


def impact_line(impact: dict[str, Any]) -> str:
    """What approving changes: tier moves against the version in force, or first scores when there is none."""
    if impact.get("compared_with") is None:
        tiers = ", ".join(f"{tier} {count:,}" for tier, count in (impact.get("proposed_tiers") or {}).items())
        return (f"If approved, this is the first version in force: all {impact.get('accounts'):,} accounts get a fit "
                f"score and tier for the first time ({tiers}), covering {impact.get('open_pipeline') or 0:,.0f} of "
                "open pipeline. Nothing is scored or written until a version is approved.")
    return (f"If approved: {impact.get('accounts_changing')} of {impact.get('accounts')} accounts change tier "
            f"({impact.get('upgrades')} up, {impact.get('downgrades')} down), "
            f"{impact.get('pipeline_changing'):,.0f} of {impact.get('open_pipeline'):,.0f} open pipeline.")


def _open_tasks(session: Session, connection: str, version: int, kind: str) -> list[ReviewTask]:
    return list(session.execute(select(ReviewTask).where(
        col(ReviewTask.connection) == connection, col(ReviewTask.version) == version, col(ReviewTask.kind) == kind,
        col(ReviewTask.completion).is_(None))).scalars())


def _when(change: Transition) -> str:
    return f"{change.at:%Y-%m-%d %H:%M} UTC"


def _outcome(change: Transition) -> str:
    note = f" Note: {change.note}" if change.note else ""
    verdict = DECIDED.get(change.action, change.action)
    return f"{verdict} by {change.actor.describe()} on {_when(change)}.{note}"


def leadership_recorder(config: LeadershipTasks) -> Callable[[Session, Transition], None]:
    """The version recorder that opens leadership tasks with a proposal and closes them with its outcome."""
    def record(session: Session, change: Transition) -> None:
        if change.connection != config.connection:
            return
        if change.action == "proposed":
            record_leadership(session, config, change.version, change.at)
        elif change.action == "signed":
            _signed(session, config, change)
        elif change.action in DECIDED:
            request_completion(session, _open_tasks(session, config.connection, change.version, PROPOSAL_KIND),
                               _outcome(change))
        elif change.action == "retired":
            request_completion(session, _open_tasks(session, config.connection, change.version,
                                                    "leadership-drift"), f"retired on {_when(change)}: {change.note}")
    return record


def _signed(session: Session, config: LeadershipTasks, change: Transition) -> None:
    """The signing roles' tasks are done; the version still waits for the others."""
    rows = [r for r in _open_tasks(session, config.connection, change.version, PROPOSAL_KIND)
            if r.role in change.roles]
    waiting = ", ".join(change.outstanding) or "nobody"
    request_completion(session, rows, f"approved for {', '.join(change.roles)} by {change.actor.describe()} on "
                                      f"{_when(change)}; the version still waits for: {waiting}.")

