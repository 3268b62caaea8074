"""``icp status`` and ``icp report``: the documented JSON keys, and a self-contained HTML page with charts."""

from __future__ import annotations

import json
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from tests.monitor.world import (
    NOW,
    approve_evidence_version,
    month_of_deals,
    record_nights,
    store_records,
    tiers_of,
    top_tier_loses,
)
from worker.cli import app
from worker.report import STATUS_KEYS, ReportSettings, render_report, status_data
from worker.store import MeasurementEvent, Run, make_engine, migrate, session_scope

runner = CliRunner()
NIGHTS = 4
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def _populate(engine: Engine, connection: str) -> None:
    version = approve_evidence_version(engine, connection)
    month = month_of_deals(21)
    deals = top_tier_loses(0.25)(month.deals, tiers_of(month.accounts, version.scorecard))
    store_records(engine, month.accounts, deals, connection)
    record_nights(engine, version, NIGHTS, connection)
    with session_scope(engine) as session:
        session.add(Run(id="boom", connection=connection, kind="cycle", status="failed",
                        started_at=NOW + timedelta(hours=1), finished_at=NOW + timedelta(hours=1, seconds=2),
                        summary={}, error="<script>alert(1)</script>"))


def test_status_data_on_an_empty_store(engine: Engine) -> None:
    data = status_data(engine, "main", now=NOW)
    assert tuple(data) == STATUS_KEYS
    assert data["version"] is None and data["runs"] == [] and data["measurements"] == [] and data["drift"] is None


def test_status_data_over_time(engine: Engine) -> None:
    _populate(engine, "main")
    data = status_data(engine, "main", ReportSettings(runs=3), now=NOW + timedelta(days=70))
    json.dumps(data)
    version = data["version"]
    assert version["label"] == "v1" and version["age_days"] == 100.0 and version["review_due"]
    assert [r["id"] for r in data["runs"]] == ["boom", "night3", "night2"]
    assert data["runs"][0]["message"] == "<script>alert(1)</script>" and data["runs"][1]["duration_seconds"] == 30.0
    assert len(data["measurements"]) == NIGHTS and data["tiers"] == ["A", "B", "C", "D"]
    latest = data["measurements"][-1]["by_tier"]["A"]
    assert latest["accounts"] > 0 and latest["close_rate"] < 0.4
    assert data["drift"]["alarm"] and data["drift"]["run_id"] == "night3"
    assert len(data["psi_history"]) == NIGHTS and all(h["psi"] < 0.1 for h in data["psi_history"])


def test_older_measurement_events_are_read(engine: Engine) -> None:
    """Events holding only accounts per tier (as the first cycles wrote them) still chart."""
    with session_scope(engine) as session:
        session.add(MeasurementEvent(connection="main", run_id="r1", at=NOW, version=1,
                                     figures={"counts": {"scored": 3}, "by_tier": {"A": 1, "B": 2}}))
    data = status_data(engine, "main", now=NOW)
    assert data["tiers"] == ["A", "B"] and data["measurements"][0]["by_tier"]["B"] == {"accounts": 2}
    assert "<svg" in render_report(data)


@pytest.fixture(scope="module")
def populated_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store with an approved version, a shifted month of deals and recorded nights (built once)."""
    path = tmp_path_factory.mktemp("populated") / "icp.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    _populate(engine, "default")
    engine.dispose()
    return path


def _use_store(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ICP_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.delenv("ICP_CONFIG", raising=False)
    monkeypatch.chdir(path.parent)


@pytest.fixture
def empty_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty SQLite store that the CLI uses (connection ``default``)."""
    _use_store(tmp_path / "icp.db", monkeypatch)
    return tmp_path / "icp.db"


@pytest.fixture
def populated_store(populated_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the populated store that the CLI uses (connection ``default``)."""
    path = tmp_path / "icp.db"
    shutil.copyfile(populated_file, path)
    _use_store(path, monkeypatch)
    return path


def test_cli_status_json_on_an_empty_store(empty_store: Path) -> None:
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert tuple(data) == STATUS_KEYS and data["connection"] == "default" and data["version"] is None


def test_cli_status_on_a_populated_store(populated_store: Path) -> None:
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert tuple(data) == STATUS_KEYS and data["version"]["label"] == "v1"
    assert data["drift"]["alarm"] and len(data["measurements"]) == NIGHTS
    human = runner.invoke(app, ["status"])
    assert human.exit_code == 0 and "v1" in human.output and "ICP drift" in human.output


def test_cli_report_html_is_self_contained(populated_store: Path) -> None:
    result = runner.invoke(app, ["report", "--format", "html"])
    assert result.exit_code == 0, result.output
    html = (populated_store.parent / "icp-report.html").read_text(encoding="utf-8")
    assert EXTERNAL.search(html) is None and "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<svg") == 3
    for title in ("Close rate by tier over time", "Accounts by tier over time", "stability (PSI) over time"):
        assert title in html
    assert html.count("<polyline") >= 5 and "Tier A won" in html


def test_cli_report_markdown_and_bad_format(populated_store: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.md"
    assert runner.invoke(app, ["report", "--format", "md", "--output", str(target)]).exit_code == 0
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# ICP status: default") and "| A |" in text and "Tier A won" in text
    bad = runner.invoke(app, ["report", "--format", "pdf"])
    assert bad.exit_code == 2


def test_report_of_an_empty_store_renders(engine: Engine) -> None:
    html = render_report(status_data(engine, "main", now=NOW))
    assert html.count("<svg") == 3 and "no data yet" in html and "No approved scorecard version" in html
    with pytest.raises(ValueError, match="unknown report format"):
        render_report(status_data(engine, "main", now=NOW), "pdf")  # type: ignore[arg-type]
