"""Review tasks in the CRM: leadership reviews of proposals and drift, owner reviews of tier changes.

Each task has an idempotency key and goes through the outbox (:mod:`worker.writeback.outbox`): it is
recorded ``pending`` in the transaction of the change that asks for it (owner tasks with the tiers
that imply them, leadership tasks with the proposal), then sent in batches, so retries, crashes and
re-runs never lose or duplicate a task. Owner tasks beyond the per-run cap stay queued and go out on
later runs, oldest first. The worker only asks people to review: it never disqualifies or removes
an account.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlmodel import Session

from connectors.base import Connector, TaskRequest
from worker.govern.leadership import LeadershipTasks, impact_line, owner_id_for, proposal_lines, record_leadership
from worker.logs import get_logger
from worker.score.scoring import TierChange
from worker.score.signoff import SignOffPolicy
from worker.score.versions import VersionInfo
from worker.settings import ReviewOptions
from worker.store import ReviewTask, session_scope
from worker.writeback.outbox import Outbox, record_task, task_key

if TYPE_CHECKING:
    from worker.context import Context

log = get_logger("worker.govern.tasks")
__all__ = ["ReviewTasks", "TaskReport", "ensure_leadership_tasks", "impact_line", "is_significant", "owner_body",
           "owner_id_for", "proposal_lines", "resolve_owner", "task_key"]
TIER_CHANGE = "tier-change"


@dataclass
class TaskReport:
    """Tasks this run created, found already done, completed, or held back by the cap (queued)."""

    created: int = 0
    existing: int = 0
    completed: int = 0
    capped: int = 0
    failed: list[str] = field(default_factory=list)
    unassigned: list[str] = field(default_factory=list)


def resolve_owner(engine: Engine, connection: str, who: str | None) -> str | None:
    """A CRM owner id from an email or an id; None when nobody matches."""
    return owner_id_for(engine, connection, who)


class ReviewTasks:
    """Records one connection's review tasks in the outbox and sends them."""

    def __init__(self, engine: Engine, connection: str, connector: Connector, options: ReviewOptions,
                 run_id: str, policy: SignOffPolicy | None = None,
                 proposal_url: Callable[[int], str] | None = None) -> None:
        self.engine, self.connection, self.connector = engine, connection, connector
        self.options, self.run_id = options, run_id
        self.policy = policy or SignOffPolicy()
        self.proposal_url = proposal_url or (lambda version: f"icp brief {version}")
        self.report = TaskReport()
        self._sent: Counter[str] = Counter()

    @classmethod
    def of(cls, ctx: Context, connector: Connector, run_id: str) -> ReviewTasks:
        """The review tasks of a connection context: its review options, sign-off roles and review pages."""
        return cls(ctx.engine, ctx.name, connector, ctx.config.review, run_id, ctx.policy,
                   lambda number: ctx.settings.proposal_url(ctx.name, number))

    def leadership_config(self) -> LeadershipTasks:
        """Who reviews this connection's proposals, and where their review page is."""
        return LeadershipTasks(self.connection, self.options, self.policy, self.proposal_url)

    def dispatch(self) -> None:
        """Send what the outbox holds: pending tasks (owner tasks capped per run), then completions."""
        caps = {TIER_CHANGE: max(0, self.options.tier_change.max_tasks_per_run - self._sent[TIER_CHANGE])}
        done = Outbox(self.engine, self.connection, self.connector, self.run_id, caps).dispatch()
        self._sent.update(done.sent)
        self.report.created += done.created
        self.report.existing += done.existing
        self.report.completed += done.completed
        self.report.capped = done.queued
        self.report.failed.extend(done.failed)

    def ensure(self, key: str, kind: str, request: TaskRequest, version: int | None) -> str | None:
        """Record the task (unless known) and send the outbox; the task's CRM id once it exists."""
        with session_scope(self.engine) as session:
            record_task(session, self.connection, kind, request, version, self.run_id, request.due)
        self.dispatch()
        with Session(self.engine) as session:
            row = session.get(ReviewTask, (self.connection, key))
            return row.crm_task_id if row is not None else None

    def leadership(self, version: VersionInfo, subject: str, body: str, now: datetime,
                   reason: str = "proposal") -> str | None:
        """A leadership review task about a version (a drift alarm), assigned to the leadership owner."""
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

    def record_tier_changes(self, session: Session, changes: Sequence[TierChange], version: VersionInfo,
                            now: datetime) -> int:
        """Record owner tasks for significant tier changes in ``session`` (the scores' own transaction)."""
        rule, tiers = self.options.tier_change, version.scorecard.tiers
        recorded = 0
        for change in changes:
            new_version = change.old_version is not None and change.old_version != version.version
            drop = max(rule.drop_tiers, 2) if new_version else rule.drop_tiers
            if not is_significant(change, tiers, drop, rule.leaving_top_tier and not new_version):
                continue
            if change.owner_id is None:
                self.report.unassigned.append(f"account {change.account_id}: no owner for its tier change")
                continue
            key = task_key(self.connection, "tier", change.account_id, version.version, change.old_tier,
                           change.new_tier, now.date())
            request = TaskRequest(key=key, owner_id=change.owner_id, account_id=change.account_id,
                                  due=now + timedelta(days=self.options.due_days),
                                  subject=f"ICP review: account moved from tier {change.old_tier} to {change.new_tier}",
                                  body=owner_body(change, version, new_version))
            recorded += record_task(session, self.connection, TIER_CHANGE, request, version.version, self.run_id,
                                    now)
        return recorded

    def tier_changes(self, changes: Sequence[TierChange], tiers: Sequence[str], version: VersionInfo,
                     now: datetime) -> None:
        """Owner tasks for significant tier changes: recorded (own transaction), then sent."""
        with session_scope(self.engine) as session:
            self.record_tier_changes(session, changes, version, now)
        self.dispatch()


def is_significant(change: TierChange, tiers: Sequence[str], drop_tiers: int, leaving_top: bool) -> bool:
    """A drop of ``drop_tiers`` or more, or leaving the top tier; first scores and rises are not."""
    if change.old_tier is None or change.old_tier not in tiers or change.new_tier not in tiers:
        return False
    drop = tiers.index(change.new_tier) - tiers.index(change.old_tier)
    return drop >= drop_tiers or (leaving_top and change.old_tier == tiers[0] and drop > 0)


def owner_body(change: TierChange, version: VersionInfo, new_version: bool = False) -> str:
    """Why an account's tier changed, for its owner."""
    reasons = "\n".join(f"- {r}" for r in change.reasons)
    why = (f"because the newly approved scorecard {version.label} scores it differently" if new_version
           else "because its CRM data changed")
    return (f"The account's ICP fit went from {change.old_score} (tier {change.old_tier}) to {change.new_score} "
            f"(tier {change.new_tier}) under scorecard {version.label}, {why}.\n\n"
            f"What drives the score now:\n{reasons}\n\n"
            "Please check that the data is right and decide what, if anything, changes for this account. "
            "Nothing has been disqualified or removed automatically.")


def ensure_leadership_tasks(tasks: ReviewTasks, versions: Sequence[VersionInfo], now: datetime) -> None:
    """Leadership review tasks (one per required role) for every proposed version that lacks them; sent."""
    with session_scope(tasks.engine) as session:
        for version in versions:
            if version.status == "proposed":
                record_leadership(session, tasks.leadership_config(), version.version, now, tasks.run_id,
                                  tasks.report.unassigned)
    tasks.dispatch()
