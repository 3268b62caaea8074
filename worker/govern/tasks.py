"""Review tasks in the CRM: leadership reviews of proposals and drift, owner reviews of tier changes.

Each task has an idempotency key. The key is stored (status ``pending``) before the
CRM call and the CRM task id after it; a retry after a crash first asks the CRM for
a task carrying the key, so retries, crashes and re-runs never duplicate a task.
The worker only asks people to review: it never disqualifies or removes an account.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from connectors.base import Connector, TaskRequest
from worker.logs import get_logger
from worker.score.scoring import TierChange
from worker.score.versions import VersionInfo
from worker.settings import ReviewOptions
from worker.store import Owner, ReviewTask, session_scope

log = get_logger("worker.govern.tasks")


def task_key(connection: str, *parts: object) -> str:
    """An alphanumeric key (one search token in the CRM) for a task's identity."""
    digest = hashlib.sha256("|".join([connection, *map(str, parts)]).encode()).hexdigest()[:24]
    return f"icpreview{digest}"


@dataclass
class TaskReport:
    """Tasks this run created, found already done, or held back by the cap."""

    created: int = 0
    existing: int = 0
    capped: int = 0
    failed: list[str] = field(default_factory=list)
    unassigned: list[str] = field(default_factory=list)


def resolve_owner(engine: Engine, connection: str, who: str | None) -> str | None:
    """A CRM owner id from an email or an id; None when nobody matches."""
    if not who:
        return None
    with Session(engine) as session:
        rows = session.execute(select(Owner.id, Owner.email).where(Owner.connection == connection)).all()
    for owner_id, email in rows:
        if who == owner_id or (email and who.strip().lower() == email.strip().lower()):
            return str(owner_id)
    return None


class ReviewTasks:
    """Creates one connection's review tasks exactly once."""

    def __init__(self, engine: Engine, connection: str, connector: Connector, options: ReviewOptions,
                 run_id: str) -> None:
        self.engine, self.connection, self.connector = engine, connection, connector
        self.options, self.run_id = options, run_id
        self.report = TaskReport()

    def ensure(self, key: str, kind: str, request: TaskRequest, version: int | None) -> str | None:
        """Create the task unless it exists (in the store or, after a crash, in the CRM); its CRM id.

        Only a task left ``pending`` by an interrupted run is looked up in the CRM first.
        """
        with session_scope(self.engine) as session:
            row = session.get(ReviewTask, (self.connection, key))
            if row is not None and row.crm_task_id:
                self.report.existing += 1
                return row.crm_task_id
            recovering = row is not None
            if row is None:
                session.add(ReviewTask(connection=self.connection, key=key, kind=kind, account_id=request.account_id,
                                       owner_id=request.owner_id, version=version, subject=request.subject,
                                       body=request.body, due_at=request.due, created_at=datetime.now(UTC),
                                       run_id=self.run_id))
        crm_id = self.connector.find_task(key) if recovering else None
        if crm_id is None:
            crm_id = self.connector.create_task(request)
            self.report.created += 1
        else:
            self.report.existing += 1
        with session_scope(self.engine) as session:
            stored = session.get(ReviewTask, (self.connection, key))
            assert stored is not None
            stored.crm_task_id, stored.status = crm_id, "created"
            session.add(stored)
        return crm_id

    def leadership(self, version: VersionInfo, subject: str, body: str, now: datetime,
                   reason: str = "proposal") -> str | None:
        """The leadership review task for a proposed version (or a drift alarm about it)."""
        owner = resolve_owner(self.engine, self.connection, self.options.leadership_owner)
        if owner is None:
            self.report.unassigned.append(f"leadership review of {version.label}: no CRM owner matches "
                                          f"review.leadership_owner={self.options.leadership_owner!r}")
            log.warning("task.unassigned", version=version.label, owner=self.options.leadership_owner)
            return None
        key = task_key(self.connection, "leadership", reason, version.version, version.created_at)
        request = TaskRequest(key=key, subject=subject, body=body, owner_id=owner,
                              due=now + timedelta(days=self.options.due_days), priority="HIGH")
        return self.ensure(key, f"leadership-{reason}", request, version.version)

    def tier_changes(self, changes: Sequence[TierChange], tiers: Sequence[str], version: VersionInfo,
                     now: datetime) -> None:
        """Owner tasks for significant tier changes, capped per run (the cap is reported)."""
        rule = self.options.tier_change
        significant = [c for c in changes if is_significant(c, tiers, rule.drop_tiers, rule.leaving_top_tier)]
        if len(significant) > rule.max_tasks_per_run:
            self.report.capped = len(significant) - rule.max_tasks_per_run
            log.warning("tasks.capped", held_back=self.report.capped, cap=rule.max_tasks_per_run)
        for change in significant[: rule.max_tasks_per_run]:
            if change.owner_id is None:
                self.report.unassigned.append(f"account {change.account_id}: no owner for its tier change")
                continue
            key = task_key(self.connection, "tier", change.account_id, version.version, change.old_tier,
                           change.new_tier, now.date())
            request = TaskRequest(key=key, owner_id=change.owner_id, account_id=change.account_id,
                                  due=now + timedelta(days=self.options.due_days),
                                  subject=f"ICP review: account moved from tier {change.old_tier} to {change.new_tier}",
                                  body=owner_body(change, version))
            self.ensure(key, "tier-change", request, version.version)


def is_significant(change: TierChange, tiers: Sequence[str], drop_tiers: int, leaving_top: bool) -> bool:
    """A drop of ``drop_tiers`` or more, or leaving the top tier; first scores and rises are not."""
    if change.old_tier is None or change.old_tier not in tiers or change.new_tier not in tiers:
        return False
    drop = tiers.index(change.new_tier) - tiers.index(change.old_tier)
    return drop >= drop_tiers or (leaving_top and change.old_tier == tiers[0] and drop > 0)


def owner_body(change: TierChange, version: VersionInfo) -> str:
    """Why an account's tier changed, for its owner."""
    reasons = "\n".join(f"- {r}" for r in change.reasons)
    return (f"The account's ICP fit went from {change.old_score} (tier {change.old_tier}) to {change.new_score} "
            f"(tier {change.new_tier}) under scorecard {version.label}, because its CRM data changed.\n\n"
            f"What drives the score now:\n{reasons}\n\n"
            "Please check that the data is right and decide what, if anything, changes for this account. "
            "Nothing has been disqualified or removed automatically.")


def leadership_body(version: VersionInfo, evidence_lines: Sequence[str], brief_hint: str) -> str:
    """The leadership task body: headline evidence, stop gates, impact, where to read the brief."""
    return "\n".join([f"Scorecard {version.label} ({version.name}) is proposed and waits for a named approver.",
                      "", *evidence_lines, "", f"Read the full ICP refinement brief: {brief_hint}",
                      f"Approve: icp approve {version.version} --by <you> --note <why>",
                      f"Reject: icp reject {version.version} --by <you> --note <why>"])


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


def ensure_leadership_tasks(tasks: ReviewTasks, versions: Sequence[VersionInfo], now: datetime) -> None:
    """One leadership review task for every proposed version that does not have one yet."""
    for version in versions:
        if version.status != "proposed":
            continue
        subject = f"ICP review: approve or reject scorecard {version.label}"
        body = leadership_body(version, proposal_lines(version.evidence), f"icp brief {version.version}")
        tasks.leadership(version, subject, body, now)
