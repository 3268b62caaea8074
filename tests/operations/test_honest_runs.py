"""Honest runs: ok, partial (counts say why), stopped (exit 0, state kept) or failed; counters that say what was
done even when a run stops or fails; no run left ``running`` by a killed worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from sandbox import start_hubspot_sandbox
from tests.contract.harness import HubSpotHarness, approve_starter, hubspot_harness, ready_context
from worker.context import Context
from worker.operate.cycle import run_cycle, utcnow
from worker.operate.scheduler import run_locked_cycle
from worker.settings import WritebackOptions
from worker.store import Run, WrittenSnapshot, session_scope

UPDATE = "POST /crm/v3/objects/companies/batch/update"
TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"  # a fake token the sandbox accepts
ICP = [sys.executable, "-m", "worker.cli"]
DAILY = {"status": "error", "message": "You have reached your daily limit.", "errorType": "RATE_LIMIT",
         "correlationId": "c", "policyName": "DAILY", "groupName": "g"}


@pytest.fixture
def hs() -> Iterator[HubSpotHarness]:
    with hubspot_harness(accounts=250) as harness:
        yield harness


@pytest.fixture
def ctx(engine: Engine, hs: HubSpotHarness) -> Context:
    context = ready_context(engine, hs.connector)
    approve_starter(context)
    return context


def _run_row(engine: Engine, run_id: str) -> Run:
    with Session(engine) as session:
        row = session.get(Run, run_id)
        assert row is not None
        return row


def test_every_write_failing_is_a_failed_run(ctx: Context, hs: HubSpotHarness) -> None:
    """250 of 250 writes refused: the run is failed, not ok, and says so with a reason."""
    hs.server.fail_ids_on_update(set(hs.account_ids()), times=10)
    summary = run_cycle(ctx, hs.connector)
    assert summary.status == "failed" and summary.written == 0 and summary.write_failures == 250
    assert "every write failed (250 of 250" in (summary.message or "")
    assert _run_row(ctx.engine, summary.run_id).status == "failed"


def test_some_writes_failing_is_partial_with_counts(ctx: Context, hs: HubSpotHarness) -> None:
    """A few refused records: partial, and the counts say which part."""
    hs.server.fail_ids_on_update(set(hs.account_ids()[:3]), times=10)
    summary = run_cycle(ctx, hs.connector)
    assert summary.status == "partial" and summary.written == 247 and summary.write_failures == 3
    assert "3 record(s) failed to write" in (summary.message or "")
    row = _run_row(ctx.engine, summary.run_id)
    assert row.status == "partial" and row.summary["write_failures"] == 3


def test_a_write_cap_is_partial(engine: Engine, hs: HubSpotHarness) -> None:
    """Records held back by max_records_per_run make the run partial, with the count."""
    base = ready_context(engine, hs.connector)
    config = base.config.model_copy(update={"writeback": WritebackOptions(max_records_per_run=100)})
    context = Context(base.settings, base.name, config, engine)
    approve_starter(context)
    summary = run_cycle(context, hs.connector)
    assert summary.status == "partial" and summary.written == 100 and summary.write_capped == 150
    assert "150 record(s) held back by the write cap" in (summary.message or "")


@pytest.fixture
def big(engine: Engine) -> Iterator[tuple[Context, HubSpotHarness]]:
    """A portal of 1,100 companies: write-back hands them over in two chunks (1,000 and 100)."""
    with hubspot_harness(accounts=1_100) as harness:
        context = ready_context(engine, harness.connector)
        approve_starter(context)
        yield context, harness


def test_a_stopped_run_reports_what_it_wrote(big: tuple[Context, HubSpotHarness]) -> None:
    """The daily quota runs out after the first 1,000 writes: stopped, and written says 1,000, not 0."""
    ctx, hs = big
    hs.server.faults.add(UPDATE, 429, body=DAILY, skip=10)
    summary = run_cycle(ctx, hs.connector)
    assert summary.status == "stopped" and summary.written == 1_000
    assert summary.pulled["accounts"] == 1_100 and summary.scored == 1_100
    with Session(ctx.engine) as session:
        assert len(session.execute(select(WrittenSnapshot)).scalars().all()) == 1_000
    assert _run_row(ctx.engine, summary.run_id).summary["written"] == 1_000


def test_a_failed_run_reports_what_it_wrote(big: tuple[Context, HubSpotHarness]) -> None:
    """A fatal error after the first 1,000 writes: failed, and written says 1,000."""
    ctx, hs = big
    hs.server.faults.add(UPDATE, 400, skip=10)
    summary = run_cycle(ctx, hs.connector)
    assert summary.status == "failed" and summary.written == 1_000


def test_a_first_sync_that_pulls_nothing_warns(engine: Engine) -> None:
    """An empty portal (or a token that sees nothing) is not plain ok: partial, with a warning."""
    with hubspot_harness(accounts=0) as empty:
        context = ready_context(engine, empty.connector)
        summary = run_cycle(context, empty.connector)
    assert summary.status == "partial" and summary.accounts_in_store == 0
    assert any("no accounts" in w for w in summary.warnings)


def test_killed_runs_are_closed_by_the_next_locked_run(ctx: Context, hs: HubSpotHarness) -> None:
    """A row left running by a killed worker is closed (failed, interrupted) by the next run."""
    started = utcnow() - timedelta(hours=1)
    with session_scope(ctx.engine) as session:
        session.add(Run(id="killed-run", connection=ctx.name, kind="cycle", status="running", started_at=started,
                        summary={"host": "elsewhere", "pid": 1}))
    summary = run_locked_cycle(ctx, hs.connector)
    assert summary.status == "ok"
    stale = _run_row(ctx.engine, "killed-run")
    assert stale.status == "failed" and stale.finished_at is not None
    assert "interrupted" in (stale.error or "")


def test_a_clean_stop_exits_0_and_keeps_state(tmp_path: Path) -> None:
    """``icp run`` that hits the daily quota is stopped: exit 0, the JSON says stopped, the next run resumes."""
    with start_hubspot_sandbox(seed=3, accounts=150, token=TOKEN) as server:
        env = _cli_env(server.url, tmp_path)
        setup = subprocess.run([*ICP, "setup"], env=env, capture_output=True, text=True, timeout=120)
        assert setup.returncode == 0, setup.stderr
        server.faults.add("GET /crm/v3/objects/deals", 429, body=DAILY)
        stopped = subprocess.run([*ICP, "run", "--json"], env=env, capture_output=True, text=True, timeout=120)
        assert stopped.returncode == 0, stopped.stderr
        summary = json.loads(stopped.stdout)
        assert summary["status"] == "stopped" and summary["pulled"]["accounts"] == 150
        again = subprocess.run([*ICP, "run", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["status"] in ("ok", "partial")


def test_a_signal_stops_the_run_cleanly_with_exit_0(tmp_path: Path) -> None:
    """SIGTERM during ``icp run``: the run ends at its current step as stopped, exit 0, state kept."""
    with start_hubspot_sandbox(seed=3, accounts=150, token=TOKEN) as server:
        env = _cli_env(server.url, tmp_path)
        assert subprocess.run([*ICP, "setup"], env=env, capture_output=True, timeout=120).returncode == 0
        server.faults.add("GET /crm/v3/objects/deals", 503, headers={"Retry-After": "2"})
        child = subprocess.Popen([*ICP, "run", "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        assert child.stderr is not None
        for line in child.stderr:
            if '"sync.start"' in line and '"deals"' in line:
                child.send_signal(signal.SIGTERM)
                break
        out, _ = child.communicate(timeout=120)
    assert child.returncode == 0
    summary = json.loads(out)
    assert summary["status"] == "stopped" and summary["pulled"]["accounts"] == 150


def _cli_env(sandbox_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of an ``icp`` child run against a HubSpot sandbox, with its own SQLite store."""
    return {**os.environ, "ICP_DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}", "HUBSPOT_BASE_URL": sandbox_url,
            "HUBSPOT_ACCESS_TOKEN": TOKEN, "ICP_LOG_FORMAT": "json"}
