"""The nightly cycle: sync → score with the approved version → write back what changed.

One call, one run row, one measurement event. Every run ends with one of four statuses:

- ``ok``: everything pulled, scored and written;
- ``partial``: the run finished but some records failed or were held back (write failures, a
  write or task cap, a sync that found no account at all); the counts say which;
- ``stopped``: the CRM's daily quota ran out or the worker was asked to stop; every saved
  watermark and snapshot is kept and the next run resumes (a clean stop, exit 0);
- ``failed``: a fatal or persistent error, or a write-back where every write failed.

The counters always say what was done, even when the run stops or fails half-way.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from connectors.base import Connector
from connectors.errors import ConnectorError, FatalError, QuotaExhaustedError
from worker.context import Context
from worker.govern.tasks import ReviewTasks, ensure_leadership_tasks
from worker.ingest.sync import Sync
from worker.ingest.vocabulary import load_field_labels, refresh_vocabulary
from worker.logs import bind_run, get_logger
from worker.monitor import measure_store
from worker.operate.drift_step import check_drift
from worker.score.scoring import ScoredAccounts, score_store
from worker.score.versions import VersionInfo
from worker.store import Account, MeasurementEvent, Run, session_scope
from worker.writeback.deals import write_deal_fields
from worker.writeback.writer import WriteBack

log = get_logger("worker.operate.cycle")
OK, PARTIAL, STOPPED, FAILED = "ok", "partial", "stopped", "failed"
FINISHED_STATUSES = (OK, PARTIAL, STOPPED, FAILED)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC, to the millisecond."""
    now = datetime.now(UTC)
    return now.replace(microsecond=(now.microsecond // 1000) * 1000)


@dataclass
class CycleSummary:
    """The one-object summary of a nightly cycle (``icp run --json``)."""

    run_id: str
    connection: str
    status: str = OK
    message: str | None = None
    started_at: str = ""
    duration_seconds: float = 0.0
    version: str | None = None
    pulled: dict[str, int] = field(default_factory=dict)
    pulled_unchanged: dict[str, int] = field(default_factory=dict)
    """Pulled records equal to the store but for their modification stamps (the worker's own writes): not stored."""
    quarantined: dict[str, int] = field(default_factory=dict)
    scored: int = 0
    rescored: int = 0
    scored_by_tier: dict[str, int] = field(default_factory=dict)
    tier_changes: int = 0
    written: int = 0
    unchanged: int = 0
    write_failures: int = 0
    write_capped: int = 0
    overrides: int = 0
    native_tier_kept: int = 0
    deals_written: int = 0
    deal_write_failures: int = 0
    tasks_created: int = 0
    tasks_capped: int = 0
    tasks_unassigned: list[str] = field(default_factory=list)
    api_calls: dict[str, int] = field(default_factory=dict)
    api_calls_total: int = 0
    phases: dict[str, float] = field(default_factory=dict)
    drift: dict[str, Any] | None = None
    refine: dict[str, Any] | None = None
    accounts_in_store: int | None = None
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass
class _Measured:
    """What the cycle scored, for the measurement event."""

    version: VersionInfo | None = None
    scored: ScoredAccounts | None = None
    sync: Sync | None = None
    writer: WriteBack | None = None


def run_cycle(ctx: Context, connector: Connector | None = None,
              clock: Callable[[], datetime] = utcnow) -> CycleSummary:
    """Run one nightly cycle for ``ctx``'s connection and record it."""
    run_id = uuid.uuid4().hex[:16]
    started, t0 = clock(), time.perf_counter()
    summary = CycleSummary(run_id=run_id, connection=ctx.name, started_at=started.isoformat())
    with session_scope(ctx.engine) as session:
        session.add(Run(id=run_id, connection=ctx.name, kind="cycle", status="running", started_at=started,
                        summary=process_stamp()))
    own_connector = connector is None
    measured = _Measured()
    with bind_run(run_id=run_id, connection=ctx.name):
        log.info("cycle.start")
        try:
            connector = connector or ctx.connector()
            _cycle(ctx, connector, run_id, started, summary, measured)
            _settle(ctx, summary, measured)
        except QuotaExhaustedError as exc:
            summary.status, summary.message = STOPPED, f"stopped cleanly, state kept: {exc}"
        except (FatalError, ConnectorError) as exc:
            summary.status, summary.message = FAILED, str(exc)
        except BaseException as exc:
            summary.status, summary.message = FAILED, f"{type(exc).__name__}: {exc}"
            raise
        finally:
            _progress(summary, measured)
            if connector is not None:
                summary.api_calls = dict(sorted(connector.calls.items()))
                summary.api_calls_total = sum(connector.calls.values())
                if own_connector:
                    connector.close()
            summary.duration_seconds = round(time.perf_counter() - t0, 3)
            _record(ctx, summary, clock(), measured)
            log.info("cycle.end", status=summary.status, message=summary.message,
                     duration_seconds=summary.duration_seconds, written=summary.written)
    return summary


def _cycle(ctx: Context, connector: Connector, run_id: str, started: datetime, summary: CycleSummary,
           measured: _Measured) -> None:
    owned = ctx.mapping.owned
    assert owned is not None
    status = connector.check_fields(owned.specs())
    if not status.ok:
        raise FatalError(f"owned CRM fields missing: {', '.join(status.missing)}. {status.how_to_fix}")
    measured.sync = Sync(ctx.engine, ctx.name, connector, ctx.mapping, run_id)
    with bind_run(phase="sync"):
        report = measured.sync.run(started)
    summary.pulled, summary.quarantined = dict(report.pulled), dict(report.quarantined)
    summary.pulled_unchanged = {k: v for k, v in report.unchanged.items() if v}
    for phase, seconds in report.seconds.items():
        _add_time(summary, phase, seconds)
    with bind_run(phase="vocabulary"):
        refresh_vocabulary(ctx.engine, ctx.name, connector, ctx.mapping, started)
    tasks = ReviewTasks.of(ctx, connector, run_id)
    version: VersionInfo | None = None
    versions = ctx.versions.list()
    try:
        with bind_run(phase="tasks"), _timed(summary, "tasks"):
            tasks.dispatch()
            ensure_leadership_tasks(tasks, versions, started)
        version = ctx.versions.in_force()
        if version is not None:
            scored = _score_and_write(ctx, connector, run_id, started, version, tasks, summary, measured)
            measured.version, measured.scored = version, scored
            with bind_run(phase="monitor"):
                summary.drift = check_drift(ctx, tasks, version, scored, started)
    finally:
        summary.tasks_created, summary.tasks_capped = tasks.report.created, tasks.report.capped
        summary.tasks_unassigned = tasks.report.unassigned
    if version is None:
        summary.message = _no_version_message([v for v in versions if v.status == "proposed"])
        log.warning("cycle.no_approved_version")


def _add_time(summary: CycleSummary, phase: str, seconds: float) -> None:
    summary.phases[phase] = round(summary.phases.get(phase, 0.0) + seconds, 3)


@contextmanager
def _timed(summary: CycleSummary, phase: str) -> Iterator[None]:
    """Add the block's wall time to ``summary.phases[phase]`` (for ``icp bench cycle``)."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        _add_time(summary, phase, time.perf_counter() - t0)


def _no_version_message(proposed: list[VersionInfo]) -> str:
    """Why nothing was scored, and the next step."""
    text = "no approved scorecard version: nothing scored or written"
    if not proposed:
        return f"{text} (propose one with `icp refine` or `icp propose`, then approve it with `icp approve`)"
    labels = ", ".join(v.label for v in proposed)
    last = proposed[-1].version
    return (f"{text}; {labels} {'is' if len(proposed) == 1 else 'are'} proposed and waiting for a named approver "
            f"(read `icp brief {last}`, then `icp approve {last} --by <approver>`)")


def _score_and_write(ctx: Context, connector: Connector, run_id: str, started: datetime, version: VersionInfo,
                     tasks: ReviewTasks, summary: CycleSummary, measured: _Measured) -> ScoredAccounts:
    owned = ctx.mapping.owned
    assert owned is not None
    summary.version = version.label
    with bind_run(phase="score", version=version.label), _timed(summary, "score"):
        labels = load_field_labels(ctx.engine, ctx.name, ctx.mapping, ctx.config.currency)
        scoring = score_store(ctx.engine, ctx.name, version, started, labels, on_store=lambda session, report:
                              tasks.record_tier_changes(session, report.tier_changes, version, started))
        log.info("score.done", scored=scoring.scored, by_tier=scoring.by_tier, changed=scoring.changed)
    summary.scored, summary.scored_by_tier = scoring.scored, scoring.by_tier
    summary.rescored = scoring.rescored
    summary.tier_changes = len([c for c in scoring.tier_changes if c.old_tier is not None])
    with bind_run(phase="tasks"), _timed(summary, "tasks"):
        tasks.dispatch()
    with bind_run(phase="write"), _timed(summary, "write-back"):
        native = ctx.mapping.native_tier if ctx.config.writeback.mirror_native_tier else None
        writer = WriteBack(ctx.engine, ctx.name, connector, owned, run_id, ctx.config.writeback.max_records_per_run,
                           native, ctx.config.writeback.override_needs_reason)
        measured.writer = writer
        written = writer.run(version.scorecard, version.label, started, since=None if scoring.full else started)
        tasks.dispatch()  # the owner tasks of ignored overrides, recorded with their records' snapshots
        deals = write_deal_fields(ctx.engine, ctx.name, connector, ctx.mapping.owned_deals,
                                  ctx.config.writeback.deal_fields, run_id, started)
    summary.deals_written, summary.deal_write_failures = deals.written, len(deals.failed)
    if deals.skipped and deals.skipped != "off":
        summary.warnings.append(deals.skipped)
    summary.written, summary.unchanged = written.written, written.unchanged
    summary.write_failures, summary.write_capped = len(written.failed), written.capped
    summary.overrides, summary.native_tier_kept = written.overrides, written.native_tier_kept
    return scoring.accounts


def process_stamp() -> dict[str, Any]:
    """Who runs a run: host and process id, so a run left ``running`` by a killed process can be told apart."""
    return {"host": socket.gethostname()[:80], "pid": os.getpid()}


def _progress(summary: CycleSummary, measured: _Measured) -> None:
    """Copy what was done so far into the summary (a stopped or failed run reports it too)."""
    if measured.sync is not None:
        summary.pulled = dict(measured.sync.report.pulled)
        summary.pulled_unchanged = {k: v for k, v in measured.sync.report.unchanged.items() if v}
        summary.quarantined = dict(measured.sync.report.quarantined)
    report = getattr(measured.writer, "report", None)
    if report is not None:
        summary.written, summary.unchanged = report.written, report.unchanged
        summary.write_failures, summary.write_capped = len(report.failed), report.capped


def _settle(ctx: Context, summary: CycleSummary, measured: _Measured) -> None:
    """The final status of a run that went to the end: ok, partial (counts say why) or failed."""
    with Session(ctx.engine) as session:
        summary.accounts_in_store = int(session.execute(select(func.count()).select_from(Account).where(
            col(Account.connection) == ctx.name)).scalar_one())
    if summary.accounts_in_store == 0:
        summary.warnings.append("the CRM returned no accounts: check the connection's token or user can read "
                                "companies/accounts, and that the portal or org is the right one")
    if summary.write_failures and not summary.written:
        failed = measured.writer.report.failed if measured.writer and measured.writer.report else {}
        first = next(iter(failed.items()), None)
        summary.status = FAILED
        summary.message = (f"every write failed ({summary.write_failures} of {summary.write_failures} record(s))"
                           + (f", e.g. {first[0]}: {first[1]}" if first else "") + "; they will be retried next run")
        return
    held = [f"{summary.write_failures} record(s) failed to write and will be retried next run"] \
        if summary.write_failures else []
    held += [f"{summary.write_capped} record(s) held back by the write cap"] if summary.write_capped else []
    held += [f"{summary.tasks_capped} task(s) held back by the task cap"] if summary.tasks_capped else []
    quarantined = {k: v for k, v in summary.quarantined.items() if v}
    if quarantined:
        held.append("quarantined with their reason: " + ", ".join(f"{v} {k}" for k, v in quarantined.items()))
    if held or summary.warnings:
        summary.status = PARTIAL
        summary.message = "; ".join([*held, *summary.warnings, *([summary.message] if summary.message else [])])
    for warning in summary.warnings:
        log.warning("cycle.warning", warning=warning)


def _record(ctx: Context, summary: CycleSummary, finished: datetime, measured: _Measured) -> None:
    counts = {"pulled": summary.pulled, "scored": summary.scored, "written": summary.written,
              "skipped": summary.unchanged, "quarantined": summary.quarantined, "tasks": summary.tasks_created,
              "write_failures": summary.write_failures}
    try:
        figures = measure_store(ctx.engine, ctx.name, measured.version, counts, finished, scored=measured.scored)
    except Exception as exc:  # noqa: BLE001 - a measurement error must never hide the run's outcome
        log.exception("measure.failed")
        figures = {"counts": counts, "error": f"{type(exc).__name__}: {exc}"}
    with session_scope(ctx.engine) as session:
        run = session.get(Run, summary.run_id)
        if run is not None:
            run.status, run.finished_at = summary.status, finished
            run.summary = {**process_stamp(), **summary.to_json()}
            run.error = summary.message if summary.status != OK else None
            session.add(run)
        session.add(MeasurementEvent(connection=ctx.name, run_id=summary.run_id, at=finished,
                                     version=measured.version.version if measured.version else None,
                                     figures=figures))
