"""The outbox of CRM side effects: review tasks to create, and tasks to complete with their outcome.

A task the worker intends is stored as a ``review_task`` row (status ``pending``, with its
idempotency key) in the same transaction as the change that asks for it: the tiers that imply an
owner's review, the proposal that asks for leadership's, the decision that closes it. Nothing is
sent to the CRM inside that transaction. :class:`Outbox` then sends what is pending, in batches,
oldest first, and every run starts by finishing what an earlier one left.

Before a batch is sent its rows' ``attempts`` are counted up and committed, so a run killed while
the CRM call is in flight leaves rows that say "may exist": the next attempt asks the CRM for
their keys before creating anything (:meth:`connectors.base.Connector.ensure_tasks`), and the
connectors never resend a create whose outcome is unknown without that look-up. Account values
need no outbox: they are idempotent (the same values written twice are one change), and what must
be written follows from the committed scores and the last-written snapshot.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from connectors.base import Connector, TaskCompletion, TaskRequest
from connectors.errors import RetriableError
from worker.logs import get_logger
from worker.store import ReviewTask, session_scope

log = get_logger("worker.writeback.outbox")
PENDING, CREATED, CANCELLED, FAILED = "pending", "created", "cancelled", "failed"
MAX_ATTEMPTS = 5
CHUNK = 200

__all__ = ["CANCELLED", "CREATED", "FAILED", "Outbox", "OutboxReport", "PENDING", "record_task",
           "request_completion", "task_key"]


@dataclass
class OutboxReport:
    """What one dispatch did: tasks created (or found already created), completed, held back, failed."""

    created: int = 0
    existing: int = 0
    completed: int = 0
    queued: int = 0
    failed: list[str] = field(default_factory=list)
    sent: Counter[str] = field(default_factory=Counter)
    """Tasks now in the CRM (created or found), by kind: what per-run caps count."""


def task_key(connection: str, *parts: object) -> str:
    """An alphanumeric key (one search token in the CRM) for a task's identity."""
    digest = hashlib.sha256("|".join([connection, *map(str, parts)]).encode()).hexdigest()[:24]
    return f"icpreview{digest}"


def record_task(session: Session, connection: str, kind: str, request: TaskRequest, version: int | None,
                run_id: str | None, now: datetime, role: str | None = None) -> bool:
    """Add a task to create, in ``session``'s transaction, unless its key is known; True when added."""
    if session.get(ReviewTask, (connection, request.key)) is not None:
        return False
    session.add(ReviewTask(connection=connection, key=request.key, kind=kind, account_id=request.account_id,
                           owner_id=request.owner_id, version=version, subject=request.subject, body=request.body,
                           due_at=request.due, created_at=now, run_id=run_id, role=role, status=PENDING))
    return True


def request_completion(session: Session, rows: Sequence[ReviewTask], outcome: str) -> int:
    """Ask for these tasks to be completed with ``outcome`` written into them; a task never created is
    cancelled instead. Returns how many will be completed."""
    asked = 0
    for row in rows:
        if row.completion is not None or row.status in (CANCELLED, FAILED):
            continue
        if row.status == PENDING and row.attempts == 0:
            row.status = CANCELLED
        else:
            row.completion, row.outcome = PENDING, f"{row.body}\n\nOutcome: {outcome}"
            asked += 1
        session.add(row)
    return asked


def _request(row: ReviewTask) -> TaskRequest:
    due = row.due_at or row.created_at or datetime.now(UTC)
    priority = "HIGH" if row.kind.startswith("leadership") else "MEDIUM"
    return TaskRequest(key=row.key, subject=row.subject, body=row.body, due=due, owner_id=row.owner_id,
                       account_id=row.account_id, priority=priority)  # type: ignore[arg-type]


class Outbox:
    """Sends one connection's pending task work to the CRM."""

    def __init__(self, engine: Engine, connection: str, connector: Connector, run_id: str,
                 caps: Mapping[str, int] | None = None) -> None:
        self.engine, self.connection, self.connector, self.run_id = engine, connection, connector, run_id
        self.caps = dict(caps or {})

    def dispatch(self) -> OutboxReport:
        """Create the pending tasks (oldest first, per-kind caps), then complete the decided ones."""
        report = OutboxReport()
        rows = self._due(report)
        for start in range(0, len(rows), CHUNK):
            self._create(rows[start:start + CHUNK], report)
        self._complete(report)
        return report

    def _due(self, report: OutboxReport) -> list[ReviewTask]:
        with Session(self.engine) as session:
            rows = list(session.execute(select(ReviewTask).where(
                col(ReviewTask.connection) == self.connection, col(ReviewTask.status) == PENDING).order_by(
                col(ReviewTask.created_at), col(ReviewTask.key))).scalars())
        taken: dict[str, int] = {}
        due: list[ReviewTask] = []
        for row in rows:
            cap = self.caps.get(row.kind)
            if cap is not None and taken.get(row.kind, 0) >= cap:
                report.queued += 1
                continue
            taken[row.kind] = taken.get(row.kind, 0) + 1
            due.append(row)
        if report.queued:
            log.warning("tasks.queued", held_back=report.queued, caps=self.caps)
        return due

    def _create(self, rows: list[ReviewTask], report: OutboxReport) -> None:
        keys = [r.key for r in rows]
        maybe_sent = {r.key for r in rows if r.attempts > 0}
        self._count_attempt(keys)
        try:
            outcome = self.connector.ensure_tasks([_request(r) for r in rows], maybe_sent)
        except RetriableError as exc:
            self._note_failure({k: str(exc) for k in keys}, report)
            return
        with session_scope(self.engine) as session:
            for key, task_id in outcome.ids.items():
                row = session.get(ReviewTask, (self.connection, key))
                if row is not None:
                    row.crm_task_id, row.status, row.last_error = task_id, CREATED, None
                    session.add(row)
        report.existing += len(outcome.found)
        report.created += len(outcome.ids) - len(outcome.found)
        report.sent.update(r.kind for r in rows if r.key in outcome.ids)
        self._note_failure(dict(outcome.failed), report)

    def _count_attempt(self, keys: list[str]) -> None:
        with session_scope(self.engine) as session:
            for key in keys:
                row = session.get(ReviewTask, (self.connection, key))
                if row is not None:
                    row.attempts += 1
                    session.add(row)

    def _note_failure(self, failed: dict[str, str], report: OutboxReport) -> None:
        if not failed:
            return
        with session_scope(self.engine) as session:
            for key, reason in failed.items():
                row = session.get(ReviewTask, (self.connection, key))
                if row is None:
                    continue
                row.last_error = reason[:1000]
                if row.attempts >= MAX_ATTEMPTS:
                    row.status = FAILED
                session.add(row)
                report.failed.append(f"{row.kind} task {key}: {reason}")
        log.warning("tasks.failed", failed=len(failed))

    def _complete(self, report: OutboxReport) -> None:
        with Session(self.engine) as session:
            rows = list(session.execute(select(ReviewTask).where(
                col(ReviewTask.connection) == self.connection, col(ReviewTask.completion) == PENDING,
                col(ReviewTask.crm_task_id).is_not(None))).scalars())
        if not rows:
            return
        completions = [TaskCompletion(str(r.crm_task_id), r.key, r.outcome or r.body) for r in rows]
        try:
            outcome = self.connector.complete_tasks(completions)
        except RetriableError as exc:
            report.failed.append(f"completing {len(rows)} task(s): {exc}")
            return
        done = set(outcome.succeeded)
        with session_scope(self.engine) as session:
            for row in rows:
                if row.crm_task_id in done:
                    stored = session.get(ReviewTask, (self.connection, row.key))
                    if stored is not None:
                        stored.completion, stored.completed_at = "done", datetime.now(UTC)
                        session.add(stored)
        report.completed += len(done)
        report.failed.extend(f"completing task {i}: {why}" for i, why in outcome.failed.items())
