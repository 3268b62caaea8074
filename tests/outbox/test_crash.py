"""A worker killed (SIGKILL) while it creates owner tasks loses none and duplicates none."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from tests.contract.harness import HubSpotHarness, approve_starter, hubspot_harness, ready_context
from worker.operate.cycle import run_cycle
from worker.store import AccountScore, ReviewTask

ROOT = Path(__file__).resolve().parents[2]
TASK_ROUTES = ("POST /crm/v3/objects/tasks/batch/create", "POST /crm/v3/objects/tasks")
POOR_FIT = {"industry": "RETAIL", "numberofemployees": "12", "uses_data_warehouse": "false"}


@pytest.fixture
def hs() -> Iterator[HubSpotHarness]:
    with hubspot_harness(accounts=200) as harness:
        yield harness


def tiers(engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        return dict(session.execute(select(AccountScore.account_id, AccountScore.tier)).all())  # type: ignore[arg-type]


def kill_once_a_task_exists(hs: HubSpotHarness, store_url: str) -> None:
    """Run a cycle in a child process; SIGKILL it while the CRM holds its first task call open."""
    for route in TASK_ROUTES:  # the CRM acts, then stalls before answering
        hs.server.faults.add(route, 502, delay=30.0, after=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ICP_", "HUBSPOT_"))} | {"PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-m", "tests.outbox.child_cycle", store_url, hs.server.url], cwd=ROOT,
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while not list(hs.server.tasks.ids()):
            assert child.poll() is None, "the cycle ended before creating a task"
            assert time.monotonic() < deadline, "no task was created"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    hs.server.faults.clear()


def test_sigkill_during_owner_tasks_loses_none_and_duplicates_none(hs: HubSpotHarness, store_url: str,
                                                                    engine: Engine) -> None:
    """Tiers and the owner tasks they imply are committed together; the next run finishes the tasks,
    finding the one created just before the kill instead of creating it again."""
    ctx = ready_context(engine, hs.connector)
    approve_starter(ctx)
    run_cycle(ctx, hs.connector)
    before = tiers(engine)
    top = sorted(a for a, tier in before.items() if tier == "A")[:12]
    for account in top:
        hs.server.update_company(account, POOR_FIT)
    kill_once_a_task_exists(hs, store_url)
    assert len(list(hs.server.tasks.ids())) >= 1
    recovery = run_cycle(ctx, hs.connector)
    assert recovery.status == "ok"
    after = tiers(engine)
    order = ["A", "B", "C", "D"]
    dropped = {a for a in top if order.index(after[a]) - order.index(before[a]) >= 2
               and hs.server.companies.value(a, "hubspot_owner_id")}
    assert len(dropped) >= 3
    tasks = list(hs.server.tasks.ids())
    per_account = Counter(a for t in tasks for a in hs.server.associated_ids("tasks", t, "companies"))
    assert per_account == Counter({a: 1 for a in dropped})
    with Session(engine) as session:
        rows = list(session.execute(select(ReviewTask).where(ReviewTask.kind == "tier-change")).scalars())
    assert len(rows) == len(dropped) and all(r.status == "created" and r.crm_task_id in tasks for r in rows)
    assert run_cycle(ctx, hs.connector).tasks_created == 0 and len(list(hs.server.tasks.ids())) == len(dropped)
