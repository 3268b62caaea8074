"""Health of a deployment (``icp healthcheck``): is the store reachable, did the last runs succeed, are they recent?

A connection is healthy when the latest finished run of each kind (cycle, refinement...)
did not fail and a cycle finished (ok, or stopped cleanly) within the expected window.
The window is the longest gap between the connection's scheduled runs plus two hours
for the run itself plus the misfire grace time: 26 hours and the grace for a nightly
schedule. A run left "running" by a crashed worker is ignored; only finished runs count.
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

from worker.operate.scheduler import crontab_trigger
from worker.settings import ScheduleOptions, Settings
from worker.store import Run, make_engine

RUN_ALLOWANCE = timedelta(hours=2)
HEALTHY_CYCLE = ("ok", "stopped")


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


def check_connection(session: Session, name: str, window: timedelta, now: datetime) -> ConnectionHealth:
    """The health of one connection from its runs in the store."""
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
    health.last_cycle_at = session.exec(select(Run.finished_at).where(
        Run.connection == name, Run.kind == "cycle", col(Run.status).in_(HEALTHY_CYCLE),
        col(Run.finished_at).is_not(None)).order_by(col(Run.finished_at).desc()).limit(1)).first()
    if health.last_cycle_at is None:
        health.fail("no cycle has finished yet")
    elif now - health.last_cycle_at > window:
        health.fail(f"no cycle finished in the last {health.window_hours} hours "
                    f"(the last at {health.last_cycle_at.isoformat()})")
    return health


def check_health(settings: Settings, now: datetime, connections: list[str] | None = None,
                 max_age: timedelta | None = None, store_only: bool = False) -> HealthReport:
    """Check the store and each connection (default: every configured one).

    Args:
        settings: The deployment's settings.
        now: The current time (aware UTC).
        connections: Which connections to check.
        max_age: How old the last finished cycle may be (default: from each connection's schedule).
        store_only: Check only that the store answers (for liveness probes).
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
                    report.connections.append(check_connection(session, name, window, now))
    except SQLAlchemyError as exc:
        report.store = f"not initialised (run `icp migrate`): {exc}".splitlines()[0]
    finally:
        engine.dispose()
    return report
