"""The cycle's monitoring step: drift against the version in force, and what an alarm sets in motion.

An alarm (or a version older than the review cadence) raises one leadership review task per version
and, the first time, runs a refinement, so leadership gets a proposal and not only an alarm.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from worker.context import Context
from worker.govern.tasks import ReviewTasks, ensure_leadership_tasks, task_key
from worker.logs import get_logger
from worker.monitor import DriftSettings, baseline_snapshot, monitor_store
from worker.score.scoring import ScoredAccounts
from worker.score.versions import VersionInfo
from worker.store import ReviewTask

log = get_logger("worker.operate.drift_step")


def check_drift(ctx: Context, tasks: ReviewTasks, version: VersionInfo, scored: ScoredAccounts,
                now: datetime) -> dict[str, Any]:
    """Assess drift; on an alarm, ask leadership to review and prepare a proposal. Returns the drift JSON.

    A version approved before any account was stored gets its baseline from its first scoring.
    """
    if not version.evidence.get("baseline") and scored.ids:
        ctx.versions.record_baseline(version.version, baseline_snapshot(scored.result, at=now))
        version = ctx.versions.get(version.version)
    settings = DriftSettings(cadence_days=ctx.config.review.cadence_days)
    drift = monitor_store(ctx.engine, ctx.name, version, now, settings, scored=scored)
    report = drift.to_json()
    if not drift.alarm:
        return report
    log.warning("drift.alarm", version=version.label, reasons=list(drift.reasons))
    before = tasks.report.created
    refinement = _refine(ctx, now) if _first_alarm(tasks, version) else None
    body = drift.text() + (f"\n\nA refinement ran on the latest evidence: {refinement}" if refinement else "")
    tasks.leadership(version, f"ICP drift: review scorecard {version.label}", body, now, reason="drift")
    if refinement:
        ensure_leadership_tasks(tasks, ctx.versions.list(), now)
    report["task_created"] = tasks.report.created > before
    report["refinement"] = refinement
    return report


def _first_alarm(tasks: ReviewTasks, version: VersionInfo) -> bool:
    key = task_key(tasks.connection, "leadership", "drift", version.version, version.created_at)
    with Session(tasks.engine) as session:
        return session.get(ReviewTask, (tasks.connection, key)) is None


def _refine(ctx: Context, now: datetime) -> str:
    from worker.govern.proposals import run_refinement

    try:
        outcome = run_refinement(ctx, by="drift monitor", now=now)
    except Exception as exc:  # noqa: BLE001 - the alarm must still reach leadership
        log.exception("drift.refinement_failed")
        return f"the refinement failed ({type(exc).__name__}: {exc})"
    proposed = f"proposed {outcome.version.label}" if outcome.version else "nothing proposed"
    return f"{outcome.analysis.status}, {proposed}. {outcome.analysis.headline}"
