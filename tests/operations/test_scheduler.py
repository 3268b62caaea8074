"""The scheduler: one job per connection on its own schedule; jobs take the lock, stop cleanly, never crash."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine
from sqlmodel import col, select
from structlog.testing import capture_logs

from connectors.errors import FatalError
from tests.operations.conftest import ICP, FakeConnector, context_for, settings_for, spawn, write_config
from worker.context import Context
from worker.operate import scheduler
from worker.operate.locks import acquire_run_lock
from worker.operate.scheduler import (
    SKIPPED,
    build_scheduler,
    connection_job,
    crontab_trigger,
    refine_if_due,
    run_locked_cycle,
    stop_on_signals,
)
from worker.settings import ConfigError, ScheduleOptions
from worker.store import Run, make_engine, session_scope

SATURDAY = datetime(2026, 3, 7, 12, tzinfo=UTC)
TWO = {"acme": 'cron = "0 2 * * *"\ntimezone = "Europe/London"\nmisfire_grace_seconds = 1800',
       "globex": 'cron = "30 3 * * 1-5"\ntimezone = "America/New_York"\nmisfire_grace_seconds = 600'}


def _runs(engine: Engine) -> list[Run]:
    with session_scope(engine) as session:
        return list(session.exec(select(Run).order_by(col(Run.started_at))).all())


def test_every_connection_gets_its_own_job_and_schedule(tmp_path: Path, engine: Engine) -> None:
    """Two connections: two cron jobs with their own time zone and grace, coalesced, one instance each."""
    built = build_scheduler(settings_for(tmp_path, "sqlite://", TWO), engine, now=SATURDAY)
    jobs = {job.id: job for job in built.get_jobs()}
    assert sorted(jobs) == ["cycle:acme", "cycle:globex"]
    acme, globex = jobs["cycle:acme"], jobs["cycle:globex"]
    assert all(isinstance(j.trigger, CronTrigger) and j.coalesce and j.max_instances == 1 for j in jobs.values())
    assert (acme.misfire_grace_time, globex.misfire_grace_time) == (1800, 600)
    assert str(acme.trigger.timezone) == "Europe/London" and str(globex.trigger.timezone) == "America/New_York"
    assert acme.trigger.get_next_fire_time(None, SATURDAY).isoformat() == "2026-03-08T02:00:00+00:00"
    assert globex.trigger.get_next_fire_time(None, SATURDAY).isoformat() == "2026-03-09T03:30:00-04:00"
    assert acme.args[2] == "acme" and globex.args[2] == "globex"


def test_a_night_missed_during_a_restart_runs_at_start(tmp_path: Path, engine: Engine) -> None:
    """Started at 02:20 with a 30-minute grace and no cycle since 02:00: that night's run is due at once."""
    settings = settings_for(tmp_path, "sqlite://", TWO)
    restart = datetime(2026, 3, 10, 2, 20, tzinfo=UTC)
    with session_scope(engine) as session:
        session.add(Run(id="yesterday", connection="acme", kind="cycle", status="ok",
                        started_at=restart - timedelta(days=1)))
    jobs = {job.id: job for job in build_scheduler(settings, engine, now=restart).get_jobs()}
    assert jobs["cycle:acme"].next_run_time == datetime(2026, 3, 10, 2, tzinfo=UTC)
    assert not hasattr(jobs["cycle:globex"], "next_run_time")


@pytest.mark.parametrize(("started_minutes_after", "minutes_late", "missed"),
                         [(None, 20, True), (-60 * 24, 20, True), (1, 20, False), (None, 31, False)])
def test_a_missed_night_is_caught_up_only_within_the_grace(started_minutes_after: int | None, minutes_late: int,
                                                          missed: bool) -> None:
    """Within the grace and with no cycle started since the scheduled time: caught up; otherwise not."""
    trigger = crontab_trigger(ScheduleOptions(cron="0 2 * * *", misfire_grace_seconds=1800))
    fire = datetime(2026, 3, 10, 2, tzinfo=UTC)
    last = None if started_minutes_after is None else fire + timedelta(minutes=started_minutes_after)
    found = scheduler.missed_fire_time(trigger, 1800, fire + timedelta(minutes=minutes_late), last)
    assert found == (fire if missed else None)


@pytest.mark.parametrize(("cron", "weekday"), [("0 2 * * 0", "Sunday"), ("0 2 * * 7", "Sunday"),
                                               ("0 2 * * 1", "Monday"), ("0 2 * * 6", "Saturday"),
                                               ("0 2 * * sat", "Saturday")])
def test_crontab_days_of_week_mean_what_cron_means(cron: str, weekday: str) -> None:
    """Cron's 0 is Sunday (APScheduler 3's own 0 is Monday); the trigger follows cron."""
    fire = crontab_trigger(ScheduleOptions(cron=cron)).get_next_fire_time(None, SATURDAY + timedelta(hours=13))
    assert fire.strftime("%A") == weekday


def test_a_bad_schedule_is_a_config_error_naming_the_connection(tmp_path: Path) -> None:
    """An invalid crontab fails at start-up, naming the key."""
    settings = settings_for(tmp_path, "sqlite://", {"acme": 'cron = "0 25 * * *"'})
    with pytest.raises(ConfigError, match=r"connections\.acme\.schedule"):
        build_scheduler(settings, make_engine("sqlite://"))


def test_a_job_against_a_refusing_crm_records_a_failed_run(tmp_path: Path, engine: Engine, crm_401: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The job function records the failed run, releases the lock and does not raise."""
    monkeypatch.setenv("ICP_TEST_TOKEN", "test-token-0000")
    ctx = context_for(tmp_path, engine, crm_401)
    connection_job(ctx.settings, engine, "acme", threading.Event())
    runs = _runs(engine)
    assert [(r.kind, r.status) for r in runs] == [("cycle", "failed")]
    assert "401" in (runs[0].error or "")
    with acquire_run_lock(engine, "acme") as held:
        assert held.connection == "acme"


def test_a_job_that_cannot_start_logs_instead_of_raising(tmp_path: Path, engine: Engine,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing credential is logged as a crashed job; nothing escapes to the scheduler, no run is recorded."""
    monkeypatch.delenv("ICP_TEST_TOKEN", raising=False)
    ctx = context_for(tmp_path, engine)
    with capture_logs() as events:
        connection_job(ctx.settings, engine, "acme", threading.Event())
    assert [e["log_level"] for e in events if e["event"] == "job.crashed"] == ["error"]
    assert _runs(engine) == []


def test_a_held_connection_is_skipped_not_failed(tmp_path: Path, engine: Engine) -> None:
    """While another worker holds the connection, the cycle is skipped and nothing is recorded."""
    ctx, connector = context_for(tmp_path, engine), FakeConnector()
    with acquire_run_lock(engine, "acme", holder="other-worker"):
        summary = run_locked_cycle(ctx, connector)
    assert summary.status == SKIPPED and "another worker" in (summary.message or "")
    assert connector.calls == {} and _runs(engine) == []


def test_a_stop_request_ends_the_cycle_at_its_next_crm_call(tmp_path: Path, engine: Engine) -> None:
    """The stop flag set while a page is in hand: no further page is fetched, the run is recorded as stopped."""
    stop = threading.Event()
    connector = FakeConnector(pages=3, on_page=lambda n: stop.set())
    summary = run_locked_cycle(context_for(tmp_path, engine), connector, stop=stop)
    assert summary.status == "stopped" and "stopping" in (summary.message or "")
    assert connector.fetched == 1
    assert [(r.kind, r.status) for r in _runs(engine)] == [("cycle", "stopped")]


def test_refinement_follows_a_successful_cycle_under_the_lock(tmp_path: Path, engine: Engine) -> None:
    """``after`` runs after an ok or partial cycle (an empty CRM is partial), never after a failed one."""
    seen: list[str] = []
    ok = run_locked_cycle(context_for(tmp_path, engine), FakeConnector(), after=lambda c: seen.append(c.name))
    failed = run_locked_cycle(context_for(tmp_path, engine), FakeConnector(fail_on="owners", error=FatalError("no")),
                              after=lambda c: seen.append("after a failure"))
    assert (ok.status, failed.status, seen) == ("partial", "failed", ["acme"])


@pytest.fixture
def refine_hook(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A stand-in refinement module; returns the connections it was called for."""
    calls: list[str] = []
    module = types.ModuleType("tests.operations.fake_refine_job")

    def run_refinement(ctx: Context) -> None:
        calls.append(ctx.name)
        if ctx.config.review.cadence_days == 1:
            raise RuntimeError("refinement blew up")

    module.run_refinement = run_refinement  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(scheduler, "REFINE_MODULE", module.__name__)
    return calls


def test_refinement_runs_once_per_cadence(tmp_path: Path, engine: Engine, refine_hook: list[str]) -> None:
    """Due when never run; not due again until ``review.cadence_days`` have passed."""
    ctx = context_for(tmp_path, engine)
    cadence = timedelta(days=ctx.config.review.cadence_days)
    outcomes = [refine_if_due(ctx, clock=lambda: SATURDAY), refine_if_due(ctx, clock=lambda: SATURDAY + cadence / 2),
                refine_if_due(ctx, clock=lambda: SATURDAY + cadence)]
    assert outcomes == ["ran", "not due", "ran"] and refine_hook == ["acme", "acme"]
    assert [(r.kind, r.status) for r in _runs(engine)] == [("refine", "ok"), ("refine", "ok")]


def test_a_failing_refinement_is_recorded_and_retried(tmp_path: Path, engine: Engine, refine_hook: list[str]) -> None:
    """A refinement that raises is recorded as failed and is due again the next night."""
    ctx = context_for(tmp_path, engine)
    ctx.config = ctx.config.model_copy(update={"review": ctx.config.review.model_copy(update={"cadence_days": 1})})
    assert refine_if_due(ctx) == "failed" and refine_if_due(ctx) == "failed"
    assert [(r.kind, r.status, r.error) for r in _runs(engine)] == [("refine", "failed", "refinement blew up")] * 2


def test_refinement_is_skipped_when_not_installed(tmp_path: Path, engine: Engine,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a refinement module the worker says so and records nothing."""
    monkeypatch.setattr(scheduler, "REFINE_MODULE", "worker.no_such_refine_module")
    assert refine_if_due(context_for(tmp_path, engine)) == "unavailable"
    assert _runs(engine) == []


def test_a_signal_sets_the_stop_flag_instead_of_interrupting() -> None:
    """Inside ``stop_on_signals`` SIGINT sets the flag; afterwards the usual handler is back."""
    before = signal.getsignal(signal.SIGINT)
    with stop_on_signals() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.wait(timeout=2)
    assert signal.getsignal(signal.SIGINT) is before


def test_the_worker_process_stops_cleanly_on_sigterm(tmp_path: Path, store_url: str) -> None:
    """`icp worker` started, then SIGTERM: it exits 0 within seconds, every log line JSON."""
    config = write_config(tmp_path / "icp.toml", TWO)
    worker = spawn([ICP, "--config", str(config), "worker"], ICP_DATABASE_URL=store_url)
    assert worker.stderr is not None
    lines = []
    for line in worker.stderr:
        lines.append(line)
        if '"worker.started"' in line:
            break
    worker.send_signal(signal.SIGTERM)
    _out, rest = worker.communicate(timeout=5)
    events = [json.loads(line)["event"] for line in lines + rest.splitlines()]
    assert worker.returncode == 0, rest
    assert events.index("worker.started") < events.index("worker.stopping") < events.index("worker.stopped")
