"""Health of a deployment (``icp healthcheck``): is the store reachable, did the last runs succeed, are they recent?

A connection is healthy when

- the latest finished run of each kind (cycle, refinement...) did not fail;
- a cycle finished (ok, partial, or stopped cleanly) within the expected window: the longest gap
  between the connection's scheduled runs plus two hours for the run itself plus the misfire
  grace time (26 hours and the grace for a nightly schedule);
- the latest cycle, when partial, left at most ``max_partial`` of its records failed, held back or
  quarantined (5 % by default);
- the latest cycle found accounts in the CRM (a first sync that pulled nothing is a broken
  connection, not a quiet night);
- its run lock, when held, is held by a live worker, and no run is marked running by a process
  that is gone from this machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from worker.operate.locks import holder_alive, lock_state
from worker.operate.scheduler import crontab_trigger
from worker.settings import ScheduleOptions, Settings
from worker.store import Run, make_engine

RUN_ALLOWANCE = timedelta(hours=2)
HEALTHY_CYCLE = ("ok", "partial", "stopped")
MAX_PARTIAL = 0.05


@dataclass
class ConnectionHealth:
    """One connection's verdict."""

    connection: str
    healthy: bool = True
    problems: list[str] = field(default_factory=list)
    last_runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_cycle_at: datetime | None = None
    window_hours: float = 0.0

    def fail(self, problem: str) -> None:
        """Record a problem; the connection is unhealthy."""
        self.healthy = False
        self.problems.append(problem)


@dataclass
class HealthReport:
    """The verdict for the deployment: the store and each connection."""

    store: str
    connections: list[ConnectionHealth] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """True when the store is reachable and every connection is healthy."""
        return self.store == "ok" and all(c.healthy for c in self.connections)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"healthy": self.healthy, "store": self.store,
                "connections": [asdict(c) for c in self.connections]}


def expected_window(schedule: ScheduleOptions, now: datetime, where: str = "schedule") -> timedelta:
    """How old the last finished cycle may be: the longest gap between runs, plus run time and grace."""
    trigger = crontab_trigger(schedule, where)
    fires: list[datetime] = [trigger.get_next_fire_time(None, now)]
    while len(fires) < 8:
        fires.append(trigger.get_next_fire_time(fires[-1], fires[-1]))
    gap = max(later - earlier for earlier, later in pairwise(fires))
    return gap + RUN_ALLOWANCE + timedelta(seconds=schedule.misfire_grace_seconds)


def health_engine(url: str, timeout_seconds: int = 5) -> Engine:
    """An engine that fails fast: a connect timeout on PostgreSQL; no new file created on SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).exists():
            raise FileNotFoundError(f"the SQLite store {parsed.database} does not exist")
    elif parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        url = f"{url}{'&' if '?' in url else '?'}connect_timeout={timeout_seconds}"
    return make_engine(url)


def partial_share(summary: dict[str, Any]) -> float:
    """The share of a cycle's records that failed, were held back or were quarantined."""
    quarantined = sum(int(v) for v in (summary.get("quarantined") or {}).values())
    held = int(summary.get("write_failures") or 0) + int(summary.get("write_capped") or 0)
    pulled = sum(int(v) for k, v in (summary.get("pulled") or {}).items() if k != "owners")
    writes = held + int(summary.get("written") or 0) + int(summary.get("unchanged") or 0)
    shares = [held / writes if writes else 0.0, quarantined / (pulled + quarantined) if quarantined else 0.0]
    return max(shares)


def _check_last_cycle(health: ConnectionHealth, run: Run, max_partial: float) -> None:
    summary = run.summary or {}
    if summary.get("accounts_in_store") == 0:
        health.fail(f"the last cycle {run.id} found no accounts in the CRM (a first sync that pulled nothing): "
                    "check the token's or user's access and that it is the right portal or org")
    if run.status == "partial":
        share = partial_share(summary)
        if share > max_partial:
            health.fail(f"the last cycle {run.id} was partial with {share:.0%} of its records failed, held back "
                        f"or quarantined (more than {max_partial:.0%}): {run.error}")


def _check_liveness(health: ConnectionHealth, session: Session, name: str, now: datetime) -> None:
    bind = session.get_bind()
    state = lock_state(bind, name, now) if isinstance(bind, Engine) else None
    if state is not None and state.held and not state.alive:
        health.fail(f"the run lock is held by {state.holder} but its holder is not alive ({state.detail}); "
                    "the next run takes it over")
    running = session.exec(select(Run).where(Run.connection == name, Run.status == "running")).all()
    for run in running:
        stamp = run.summary or {}
        if stamp.get("host") is not None and holder_alive(f"{stamp['host']}:{stamp.get('pid')}:") is False:
            health.fail(f"the {run.kind} run {run.id} is marked running but its process is gone "
                        f"(killed at some point after {run.started_at}); the next run closes it")


def check_connection(session: Session, name: str, window: timedelta, now: datetime,
                     max_partial: float = MAX_PARTIAL) -> ConnectionHealth:
    """The health of one connection from its runs in the store and its run lock."""
    health = ConnectionHealth(name, window_hours=round(window.total_seconds() / 3600, 2))
    finished = select(Run).where(Run.connection == name, col(Run.finished_at).is_not(None))
    for kind in session.exec(select(Run.kind).where(Run.connection == name).distinct()).all():
        run = session.exec(finished.where(Run.kind == kind).order_by(col(Run.finished_at).desc()).limit(1)).first()
        if run is None:
            continue
        health.last_runs[kind] = {"id": run.id, "status": run.status, "finished_at": run.finished_at,
                                  "error": run.error}
        if run.status == "failed":
            health.fail(f"the last {kind} run {run.id} failed at {run.finished_at}: {run.error}")
        elif kind == "cycle":
            _check_last_cycle(health, run, max_partial)
    health.last_cycle_at = session.exec(select(Run.finished_at).where(
        Run.connection == name, Run.kind == "cycle", col(Run.status).in_(HEALTHY_CYCLE),
        col(Run.finished_at).is_not(None)).order_by(col(Run.finished_at).desc()).limit(1)).first()
    if health.last_cycle_at is None:
        health.fail("no cycle has finished yet")
    elif now - health.last_cycle_at > window:
        health.fail(f"no cycle finished in the last {health.window_hours} hours "
                    f"(the last at {health.last_cycle_at.isoformat()})")
    _check_liveness(health, session, name, now)
    return health


def check_health(settings: Settings, now: datetime, connections: list[str] | None = None,
                 max_age: timedelta | None = None, store_only: bool = False,
                 max_partial: float = MAX_PARTIAL) -> HealthReport:
    """Check the store and each connection (default: every configured one).

    Args:
        settings: The deployment's settings.
        now: The current time (aware UTC).
        connections: Which connections to check.
        max_age: How old the last finished cycle may be (default: from each connection's schedule).
        store_only: Check only that the store answers (for liveness probes).
        max_partial: The share of a partial cycle's records that may fail before it is unhealthy.
    """
    try:
        engine = health_engine(settings.database_url)
        with engine.connect() as db:
            db.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        return HealthReport(store=f"unreachable: {exc}".splitlines()[0])
    report = HealthReport(store="ok")
    try:
        if not store_only:
            with Session(engine) as session:
                for name in connections or list(settings.connections):
                    schedule = settings.connection(name)[1].schedule
                    window = max_age or expected_window(schedule, now, f"connections.{name}.schedule")
                    report.connections.append(check_connection(session, name, window, now, max_partial))
    except SQLAlchemyError as exc:
        report.store = f"not initialised (run `icp migrate`): {exc}".splitlines()[0]
    finally:
        engine.dispose()
    return report
