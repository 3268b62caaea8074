"""The long-running worker (``icp worker``): every configured CRM connection on its own schedule.

Each connection gets one APScheduler cron job (``cycle:<name>``) on its own crontab and
time zone, with missed runs coalesced into one, at most one instance at a time and the
connection's misfire grace time. A night missed while no worker was running (a restart
at 02:10 for 02:00) runs at start-up if it is still within the grace time and no cycle
has started since. The job takes the connection's run lock (see :mod:`worker.operate.locks`), so
two replicas never run the same connection at once: the one that finds it held logs
``cycle.skipped`` and waits for the next night. After a successful cycle, still under
the lock, refinement runs when the connection's ``review.cadence_days`` have passed since
the last successful refinement; checking every night keeps the cadence across restarts.

Crontab day-of-week numbers follow cron (0 and 7 are Sunday), not APScheduler 3's
own numbering (0 is Monday); names (``mon-fri``) mean the same in both.

Stopping: SIGTERM or SIGINT sets a stop flag. A running cycle makes no further CRM
call once the flag is set: it ends at its current step and is recorded as stopped.
The cycle commits each page of rows with its watermark, and each write-back batch
with its snapshots, so stopping between steps leaves no half-written state and the
next run resumes from the saved watermark. The scheduler is then shut down with
``wait=True`` and the process exits 0. A second signal stops the process at once.
"""

from __future__ import annotations

import importlib
import logging
import signal
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.util import undefined
from sqlalchemy import Engine
from sqlmodel import col, select

from connectors.base import (
    Connector,
    FieldSpec,
    OwnedFieldStatus,
    Page,
    PullRequest,
    TaskCompletion,
    TaskOutcome,
    TaskRequest,
    WriteOutcome,
)
from connectors.errors import QuotaExhaustedError
from worker.context import Context
from worker.logs import bind_run, get_logger
from worker.operate.cycle import OK, PARTIAL, CycleSummary, run_cycle, utcnow
from worker.operate.locks import DEFAULT_LEASE, LockHeld, acquire_run_lock
from worker.operate.runs import close_stale_runs
from worker.settings import ConfigError, ScheduleOptions, Settings
from worker.store import Run, make_engine, migrate, session_scope

log = get_logger("worker.operate.scheduler")
SKIPPED = "skipped"
REFINE_KIND = "refine"
REFINE_MODULE = "worker.govern.proposals"
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


class StopRequested(QuotaExhaustedError):
    """The worker was asked to stop: the cycle ends cleanly at its current step, keeping its state."""


class StoppableConnector(Connector):
    """A connector that refuses every further CRM call once ``should_stop()`` is true."""

    def __init__(self, inner: Connector, should_stop: Callable[[], bool]) -> None:
        self.inner, self.should_stop = inner, should_stop
        self.name = inner.name

    @property
    def calls(self) -> Counter[str]:  # type: ignore[override]
        """The wrapped connector's call counts."""
        return self.inner.calls

    def _check(self) -> None:
        if self.should_stop():
            raise StopRequested("the worker is stopping; the next run resumes from the saved watermark")

    def pull(self, request: PullRequest) -> Iterator[Page]:
        """The wrapped pull, checked before each page is fetched."""
        self._check()
        for page in self.inner.pull(request):
            yield page
            self._check()

    def check_fields(self, owned: Sequence[FieldSpec]) -> OwnedFieldStatus:
        """See :meth:`Connector.check_fields`."""
        self._check()
        return self.inner.check_fields(owned)

    def setup_fields(self, owned: Sequence[FieldSpec]) -> list[str]:
        """See :meth:`Connector.setup_fields`."""
        self._check()
        return self.inner.setup_fields(owned)

    def write_accounts(self, updates: Mapping[str, Mapping[str, str | None]]) -> WriteOutcome:
        """See :meth:`Connector.write_accounts`."""
        self._check()
        return self.inner.write_accounts(updates)

    def holding(self, updates: Mapping[str, Mapping[str, str | None]]) -> set[str]:
        """See :meth:`Connector.holding`."""
        self._check()
        return self.inner.holding(updates)

    def write_chunk(self, pending: int) -> int:
        """The wrapped connector's chunk (see :meth:`Connector.write_chunk`)."""
        return self.inner.write_chunk(pending)

    def find_task(self, key: str) -> str | None:
        """See :meth:`Connector.find_task`."""
        self._check()
        return self.inner.find_task(key)

    def create_task(self, task: TaskRequest) -> str:
        """See :meth:`Connector.create_task`."""
        self._check()
        return self.inner.create_task(task)

    def ensure_tasks(self, tasks: Sequence[TaskRequest], look_up: Collection[str] = ()) -> TaskOutcome:
        """See :meth:`Connector.ensure_tasks`."""
        self._check()
        return self.inner.ensure_tasks(tasks, look_up)

    def complete_tasks(self, completions: Sequence[TaskCompletion]) -> WriteOutcome:
        """See :meth:`Connector.complete_tasks`."""
        self._check()
        return self.inner.complete_tasks(completions)

    def read_account(self, account_id: str, properties: Sequence[str]) -> dict[str, Any]:
        """See :meth:`Connector.read_account`."""
        self._check()
        return self.inner.read_account(account_id, properties)

    def close(self) -> None:
        """Close the wrapped connector."""
        self.inner.close()


def run_locked_cycle(ctx: Context, connector: Connector | None = None, stop: threading.Event | None = None,
                     after: Callable[[Context], object] | None = None,
                     lease: timedelta = DEFAULT_LEASE) -> CycleSummary:
    """Run one cycle under the connection's run lock; ``status="skipped"`` when another worker holds it.

    Args:
        ctx: The connection.
        connector: The CRM connector (default: the connection's own, closed afterwards).
        stop: When set, the cycle makes no further CRM call and ends as stopped.
        after: Called with ``ctx``, still under the lock, after a successful cycle.
        lease: The lock's lease on stores without advisory locks.
    """
    try:
        with acquire_run_lock(ctx.engine, ctx.name, lease=lease) as held:
            close_stale_runs(ctx.engine, ctx.name, utcnow(), f"worker {held.holder}")
            summary = _stoppable_cycle(ctx, connector, lambda: held.lost.is_set() or bool(stop and stop.is_set()))
            if after is not None and summary.status in (OK, PARTIAL):
                after(ctx)
            return summary
    except LockHeld as exc:
        log.info("cycle.skipped", connection=ctx.name, reason=str(exc))
        return CycleSummary(run_id=uuid.uuid4().hex[:16], connection=ctx.name, status=SKIPPED,
                            message=f"{exc}; nothing done", started_at=utcnow().isoformat())


def _stoppable_cycle(ctx: Context, connector: Connector | None, should_stop: Callable[[], bool]) -> CycleSummary:
    inner = connector or ctx.connector()
    try:
        return run_cycle(ctx, StoppableConnector(inner, should_stop))
    finally:
        if connector is None:
            inner.close()


def refine_if_due(ctx: Context, clock: Callable[[], datetime] = utcnow,
                  hook: Callable[[Context], object] | None = None) -> str:
    """Run refinement when ``review.cadence_days`` have passed since the last successful one.

    ``hook`` replaces the refinement job (default: ``worker.govern.proposals.run_refinement``), e.g. to
    keep its outcome. Returns ``"ran"``, ``"failed"``, ``"not due"`` or ``"unavailable"`` (no
    refinement module installed).
    """
    if hook is None:
        try:
            module = importlib.import_module(REFINE_MODULE)
        except ModuleNotFoundError as exc:
            if exc.name != REFINE_MODULE:
                raise
            log.info("refine.unavailable", connection=ctx.name, message="refinement not available")
            return "unavailable"
        hook = module.run_refinement
    now = clock()
    last = _last_refinement(ctx)
    if last is not None and now - last < timedelta(days=ctx.config.review.cadence_days):
        return "not due"
    return _refine(ctx, hook, now, clock)


def _last_refinement(ctx: Context) -> datetime | None:
    with session_scope(ctx.engine) as session:
        return session.exec(select(Run.finished_at).where(
            Run.connection == ctx.name, Run.kind == REFINE_KIND, Run.status == OK,
            col(Run.finished_at).is_not(None)).order_by(col(Run.finished_at).desc()).limit(1)).first()


def _refine(ctx: Context, hook: Callable[[Context], object], now: datetime, clock: Callable[[], datetime]) -> str:
    run = Run(id=uuid.uuid4().hex[:16], connection=ctx.name, kind=REFINE_KIND, status="running", started_at=now)
    with session_scope(ctx.engine) as session:
        session.add(run)
    with bind_run(run_id=run.id, connection=ctx.name, phase="refine"):
        log.info("refine.start")
        try:
            hook(ctx)
            run.status = OK
        except Exception as exc:
            run.status, run.error = "failed", str(exc)
            log.exception("refine.failed")
        run.finished_at = clock()
        with session_scope(ctx.engine) as session:
            session.add(run)
        log.info("refine.end", status=run.status)
    return "ran" if run.status == OK else "failed"


def crontab_trigger(schedule: ScheduleOptions, where: str = "schedule") -> CronTrigger:
    """The cron trigger of a schedule, with cron's day-of-week numbers; ConfigError naming ``where`` if invalid."""
    fields = schedule.cron.split()
    try:
        if len(fields) == 5:
            fields[4] = ",".join(_cron_weekdays(part) for part in fields[4].split(","))
        return CronTrigger.from_crontab(" ".join(fields), timezone=schedule.timezone)
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"{where}: {schedule.cron!r} in {schedule.timezone!r} is not a valid "
                          f"crontab schedule: {exc}") from None


def _cron_weekdays(part: str) -> str:
    """One day-of-week item in cron's numbering (0 and 7 are Sunday) as day names."""
    if part in ("*", "?") or any(c.isalpha() for c in part):
        return part
    span, _, step = part.partition("/")
    first, _, last = span.partition("-")
    start = 0 if first == "*" else int(first)
    end = 7 if first == "*" else int(last or (7 if step else first))
    days = {day % 7 for day in range(start, end + 1, int(step or 1))}
    if not days or max(start, end) > 7:
        raise ValueError(f"day of week {part!r} is out of range 0-7")
    return ",".join(_CRON_DAYS[day] for day in sorted(days))


def connection_job(settings: Settings, engine: Engine, name: str, stop: threading.Event) -> None:
    """One scheduled run of a connection: the locked cycle, then refinement if due. Never raises."""
    ctx = Context(settings, name, settings.connections[name], engine)
    with bind_run(connection=name):
        try:
            summary = run_locked_cycle(ctx, stop=stop, after=refine_if_due)
            log.info("job.done", status=summary.status, run=summary.run_id)
        except Exception:
            log.exception("job.crashed")


def missed_fire_time(trigger: CronTrigger, grace_seconds: int, now: datetime,
                     last_start: datetime | None) -> datetime | None:
    """A scheduled time within the last ``grace_seconds`` that no cycle has started since, if any."""
    fire: datetime | None = trigger.get_next_fire_time(None, now - timedelta(seconds=grace_seconds))
    if fire is None or fire > now or (last_start is not None and last_start >= fire):
        return None
    return fire


def _last_cycle_start(engine: Engine, name: str) -> datetime | None:
    with session_scope(engine) as session:
        return session.exec(select(Run.started_at).where(Run.connection == name, Run.kind == "cycle")
                            .order_by(col(Run.started_at).desc()).limit(1)).first()


def build_scheduler(settings: Settings, engine: Engine, connections: Sequence[str] | None = None,
                    stop: threading.Event | None = None, job: Callable[..., None] = connection_job,
                    now: datetime | None = None) -> BackgroundScheduler:
    """A scheduler (not started) with one cron job per connection, on a migrated store.

    A night missed while no worker was up (a restart at 02:10 for a 02:00 schedule) runs at start
    when it is still within the connection's misfire grace time and no cycle has started since.

    Args:
        settings: The worker's settings.
        engine: The store shared by every connection.
        connections: Which connections to schedule (default: every configured one).
        stop: The stop flag handed to every job.
        job: The job function, called as ``job(settings, engine, name, stop)``.
        now: The current time (default: the clock).
    """
    names, now = list(connections or settings.connections), now or utcnow()
    stop = stop or threading.Event()
    scheduler = BackgroundScheduler(timezone="UTC", executors={"default": ThreadPoolExecutor(len(names))})
    for name in names:
        schedule = settings.connection(name)[1].schedule
        trigger = crontab_trigger(schedule, f"connections.{name}.schedule")
        missed = missed_fire_time(trigger, schedule.misfire_grace_seconds, now, _last_cycle_start(engine, name))
        scheduler.add_job(job, trigger, args=(settings, engine, name, stop), id=f"cycle:{name}",
                          name=f"nightly cycle of {name}", coalesce=True, max_instances=1,
                          misfire_grace_time=schedule.misfire_grace_seconds,
                          next_run_time=missed or undefined)
    return scheduler


@contextmanager
def stop_on_signals(stop: threading.Event | None = None) -> Iterator[threading.Event]:
    """A stop flag set by SIGTERM or SIGINT inside the block; a second signal acts as usual."""
    stop = stop or threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for number, handler in previous.items():
            signal.signal(number, handler)

    def on_signal(_number: int, _frame: object) -> None:
        stop.set()
        restore()

    for number in previous:
        signal.signal(number, on_signal)
    try:
        yield stop
    finally:
        restore()


class _ToStructlog(logging.Handler):
    """Sends APScheduler's own log records through structlog, so every line stays JSON."""

    def emit(self, record: logging.LogRecord) -> None:
        log.log(record.levelno, "scheduler.event", source=record.name, message=record.getMessage())


def _route_apscheduler_logs() -> None:
    logger = logging.getLogger("apscheduler")
    logger.handlers, logger.propagate = [_ToStructlog()], False
    logger.setLevel(logging.INFO)


def serve(settings: Settings, connections: Sequence[str] | None = None) -> None:
    """Run the scheduler in the foreground until SIGTERM or SIGINT, then stop cleanly."""
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        with stop_on_signals() as stop:
            _run_until_stopped(build_scheduler(settings, engine, connections, stop), stop)
    finally:
        engine.dispose()
    log.info("worker.stopped")


def _run_until_stopped(scheduler: BackgroundScheduler, stop: threading.Event) -> None:
    _route_apscheduler_logs()
    scheduler.start()
    log.info("worker.started", jobs={job.id: str(job.next_run_time) for job in scheduler.get_jobs()})
    stop.wait()
    log.info("worker.stopping")
    scheduler.shutdown(wait=True)
