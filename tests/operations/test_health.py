"""`icp healthcheck`: the store answers, the last runs did not fail, a cycle finished within the window."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from tests.operations.conftest import settings_for, write_config
from worker.cli import app
from worker.operate.health import check_health, expected_window
from worker.settings import ScheduleOptions
from worker.store import Run, make_engine, session_scope

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
NIGHTLY = {"acme": 'cron = "0 2 * * *"\nmisfire_grace_seconds = 3600'}


def _run(engine: Engine, status: str, hours_ago: float | None, kind: str = "cycle", connection: str = "acme",
         now: datetime = NOW) -> None:
    finished = None if hours_ago is None else now - timedelta(hours=hours_ago)
    with session_scope(engine) as session:
        session.add(Run(id=uuid.uuid4().hex[:16], connection=connection, kind=kind, status=status,
                        started_at=(finished or now) - timedelta(minutes=10), finished_at=finished,
                        error="HTTP 401" if status == "failed" else None))


def _problems(tmp_path: Path, store_url: str, connections: dict[str, str] = NIGHTLY,
              max_age: timedelta | None = None) -> dict[str, list[str]]:
    report = check_health(settings_for(tmp_path, store_url, connections), NOW, max_age=max_age)
    assert report.store == "ok"
    return {c.connection: c.problems for c in report.connections}


def test_the_window_follows_the_schedule() -> None:
    """Nightly: 24 h + 2 h + the grace; weekdays only: the weekend gap counts."""
    assert expected_window(ScheduleOptions(cron="0 2 * * *", misfire_grace_seconds=3600), NOW) == timedelta(hours=27)
    assert expected_window(ScheduleOptions(cron="0 2 * * 1-5", misfire_grace_seconds=3600), NOW) == timedelta(hours=75)


def test_a_recent_successful_cycle_is_healthy(tmp_path: Path, engine: Engine, store_url: str) -> None:
    """An ok cycle 26 hours ago is within a nightly window; a run left running by a crash is ignored."""
    _run(engine, "ok", 26)
    _run(engine, "running", None)
    assert _problems(tmp_path, store_url) == {"acme": []}


@pytest.mark.parametrize("kind", ["cycle", "refine"])
def test_a_failed_last_run_is_unhealthy(tmp_path: Path, engine: Engine, store_url: str, kind: str) -> None:
    """The latest finished run of any kind failed: unhealthy, even with a recent ok cycle."""
    _run(engine, "ok", 3)
    _run(engine, "failed", 1, kind=kind)
    problems = _problems(tmp_path, store_url)["acme"]
    assert len(problems) == 1 and f"last {kind} run" in problems[0] and "HTTP 401" in problems[0]


def test_an_old_or_missing_cycle_is_unhealthy(tmp_path: Path, engine: Engine, store_url: str) -> None:
    """No cycle within the window, or none at all; each connection is judged on its own runs."""
    _run(engine, "ok", 28)
    _run(engine, "ok", 1, connection="other")
    problems = _problems(tmp_path, store_url, {**NIGHTLY, "globex": 'cron = "0 2 * * *"'})
    assert "no cycle finished in the last 27.0 hours" in problems["acme"][0]
    assert problems["globex"] == ["no cycle has finished yet"]
    assert _problems(tmp_path, store_url, max_age=timedelta(hours=30)) == {"acme": []}


def test_the_command_exits_by_verdict(tmp_path: Path, engine: Engine, store_url: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Exit 0 healthy, 1 unhealthy; --max-age-hours narrows the window; --json prints the report."""
    monkeypatch.setenv("ICP_DATABASE_URL", store_url)
    config = str(write_config(tmp_path / "icp.toml", NIGHTLY))
    _run(engine, "ok", 0.5, now=datetime.now(UTC))
    healthy = CliRunner().invoke(app, ["--config", config, "healthcheck", "--json"])
    assert healthy.exit_code == 0 and json.loads(healthy.stdout)["healthy"] is True
    narrow = CliRunner().invoke(app, ["--config", config, "healthcheck", "--max-age-hours", "0.25"])
    assert narrow.exit_code == 1 and "unhealthy" in narrow.stdout


@pytest.mark.parametrize("url", ["sqlite:///{tmp}/missing.db", "postgresql://postgres@127.0.0.1:1/test"])
def test_an_unreachable_store_is_unhealthy(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """No store: exit 1 with the reason, even with --store-only; a missing SQLite file is not created."""
    monkeypatch.setenv("ICP_DATABASE_URL", url.format(tmp=tmp_path))
    config = str(write_config(tmp_path / "icp.toml", NIGHTLY))
    result = CliRunner().invoke(app, ["--config", config, "healthcheck", "--store-only", "--json"])
    assert result.exit_code == 1 and json.loads(result.stdout)["store"].startswith("unreachable")
    assert not (tmp_path / "missing.db").exists()


def test_an_uninitialised_store_is_unhealthy(tmp_path: Path, store_url: str) -> None:
    """A reachable store without the schema: the report says to run `icp migrate`; --store-only passes."""
    blank = make_engine(store_url)
    with blank.begin() as db:
        db.execute(text("SELECT 1"))
    blank.dispose()
    settings = settings_for(tmp_path, store_url, NIGHTLY)
    assert "icp migrate" in check_health(settings, NOW).store
    assert check_health(settings, NOW, store_only=True).healthy
