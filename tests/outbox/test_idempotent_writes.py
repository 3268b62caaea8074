"""Account write-back is never applied twice: not after a failure once the CRM acted, not after a partial
success, not after a crash between the CRM's answer and the store's record of it.

Against the sandbox CRMs over real HTTP, with the real client libraries; the sandbox reports every
write it carried out (its observers), independently of what the worker believes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlmodel import Session, col

from connectors.errors import FatalError
from connectors.idempotent import same_value
from sandbox.server import Request, Response
from tests.contract.harness import approve_starter, hubspot_harness, ready_context, salesforce_harness
from worker.operate.cycle import run_cycle
from worker.store import WrittenSnapshot, make_engine, migrate
from worker.writeback.writer import WriteBack

HUBSPOT_UPDATE = "POST /crm/v3/objects/companies/batch/update"
SALESFORCE_UPDATE = "PATCH /services/data/v{version}/composite/sobjects"
ROUTES = {"hubspot": HUBSPOT_UPDATE, "salesforce": SALESFORCE_UPDATE}
FAULTS: dict[str, dict[str, Any]] = {"timeout after acting": {"status": 200, "after": True, "cut": "drop"},
          "502 after acting": {"status": 502, "after": True},
          "504 after acting": {"status": 504, "after": True},
          "500 before acting": {"status": 500}}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


class Applied:
    """Every record an update call of the sandbox carried out (request body and answer), per record."""

    def __init__(self, server: Any, crm: str) -> None:
        self.crm, self.count = crm, Counter[str]()
        server.observers.append(self._observe)

    def _observe(self, request: Request, response: Response) -> None:
        if request.route != ROUTES[self.crm] or response.status >= 300:
            return
        if self.crm == "hubspot":
            self.count.update(str(r["id"]) for r in (response.body or {}).get("results", []))
        else:
            records = (request.body or {}).get("records", [])
            self.count.update(str(r["id"]) for r, answer in zip(records, response.body or [], strict=False)
                              if answer.get("success") and r.get("attributes", {}).get("type") == "Account")


def _harness(crm: str, accounts: int) -> Any:
    return hubspot_harness(accounts=accounts) if crm == "hubspot" else salesforce_harness(accounts=accounts)


def _updates(ctx: Any, ids: list[str], label: str) -> dict[str, dict[str, str | None]]:
    owned = ctx.mapping.owned
    return {i: {owned.score: str(40 + n), owned.tier: "B", owned.version: label, owned.status: "",
                owned.reasons: f"reason one\nreason {n}", owned.scored_at: f"2026-11-29T23:43:04.{n}27123Z"}
            for n, i in enumerate(ids)}


@pytest.mark.parametrize("crm", ["hubspot", "salesforce"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_an_update_that_failed_is_sent_again_only_where_the_crm_does_not_hold_it(engine: Engine, crm: str,
                                                                                   fault: str) -> None:
    """A timeout or 5xx after the CRM acted: the batch is read back and nothing is written twice; a 5xx
    before it acted: the batch is read back and sent again, once."""
    with _harness(crm, 30) as harness:
        ctx = ready_context(engine, harness.connector, crm)
        applied = Applied(harness.server, crm)
        ids = harness.account_ids()[:5]
        updates = _updates(ctx, ids, "v7")
        harness.server.faults.add(ROUTES[crm], **FAULTS[fault])
        outcome = harness.connector.write_accounts(updates)
        assert sorted(outcome.succeeded) == sorted(ids) and not outcome.failed
        assert applied.count == Counter(ids), applied.count  # each record written exactly once
        assert ctx.mapping.owned is not None
        stamp = ctx.mapping.owned.scored_at  # kept as epoch milliseconds inside the sandbox: read over the API
        for account in ids:
            for name, value in updates[account].items():
                assert name == stamp or same_value(value, harness.account_values(account).get(name)), (account, name)
        assert harness.connector.holding(updates) == set(ids)


@pytest.mark.parametrize("crm", ["hubspot", "salesforce"])
def test_a_partial_success_sends_again_only_the_refused_records(engine: Engine, crm: str) -> None:
    with _harness(crm, 30) as harness:
        ctx = ready_context(engine, harness.connector, crm)
        applied = Applied(harness.server, crm)
        ids = harness.account_ids()[:6]
        harness.server.fail_ids_on_update(set(ids[:2]), times=1)
        outcome = harness.connector.write_accounts(_updates(ctx, ids, "v7"))
        assert sorted(outcome.succeeded) == sorted(ids) and not outcome.failed
        assert applied.count == Counter(ids), applied.count


def test_hubspot_snapshots_are_saved_per_batch(engine: Engine) -> None:
    """A write-back that dies on its third batch has recorded the two batches the CRM took, not none."""
    with hubspot_harness(accounts=250) as harness:
        ctx = ready_context(engine, harness.connector)
        approve_starter(ctx)
        run_cycle(ctx, harness.connector)
        with Session(engine) as session:
            session.execute(delete(WrittenSnapshot))
            session.commit()
        harness.server.faults.add(HUBSPOT_UPDATE, 400, skip=2)  # the third batch is refused outright
        card = ctx.versions.in_force()
        assert card is not None
        writer = WriteBack(engine, ctx.name, harness.connector, ctx.mapping.owned, "run-x")  # type: ignore[arg-type]
        with pytest.raises(FatalError):
            writer.run(card.scorecard, "v99", card.created_at)  # type: ignore[arg-type]
        assert _snapshots(engine) == 200


@pytest.mark.parametrize("crm", ["hubspot", "salesforce"])
def test_values_the_crm_already_holds_are_not_sent_again(engine: Engine, crm: str) -> None:
    """The worker was killed after the CRM took a write and before the store recorded it: the next run finds
    the values in the CRM, sends nothing and records them as written."""
    with _harness(crm, 40) as harness:
        ctx = ready_context(engine, harness.connector, crm)
        approve_starter(ctx)
        first = run_cycle(ctx, harness.connector)
        assert first.written == 40
        with Session(engine) as session:  # the record of the last write is gone, as if killed before commit
            session.execute(delete(WrittenSnapshot).where(col(WrittenSnapshot.account_id).in_(
                harness.account_ids()[:15])))
            session.commit()
        applied = Applied(harness.server, crm)
        second = run_cycle(ctx, harness.connector)
        assert second.written == 0 and not applied.count
        assert _snapshots(engine) == 40


def _snapshots(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(WrittenSnapshot)).scalar_one())


def test_same_value_reads_numbers_instants_and_empties_as_the_crm_shows_them() -> None:
    cases: list[tuple[Any, Any, bool]] = [("72", 72.0, True), ("72", "72.0", True), ("72", "73", False),
                                          ("", None, True), ("A", None, False), ("v3", "v3", True),
                                          ("2026-11-01T12:00:00Z", "2026-11-01T12:00:00.000+0000", True),
                                          ("2026-11-01T12:00:00Z", "2026-11-01T12:00:01.000Z", False),
                                          ("2026-11-01T12:00:00.927123Z", "2026-11-01T12:00:00.927+0000", True),
                                          ("2026-11-01T12:00:00.927Z", "2026-11-01T12:00:00.928Z", False),
                                          (True, "true", True), ("a\nb", "a\nb", True), ("a\nb", "a b", False)]
    check: Callable[[Any, Any], bool] = same_value
    assert [check(a, b) for a, b, _ in cases] == [expected for _, _, expected in cases]


def test_sigkill_after_the_crm_took_a_batch_writes_nothing_twice(store_url: str, tmp_path: Path) -> None:
    """The worker is killed the moment the CRM has carried out its update of owned values, before the answer
    reaches it: the next run reads the batch back and sends none of it again."""
    store = make_engine(store_url)
    migrate(store)
    try:
        with hubspot_harness(accounts=200) as hs:
            ctx = ready_context(store, hs.connector)
            approve_starter(ctx)
            run_cycle(ctx, hs.connector)
            top = sorted(i for i in hs.account_ids() if hs.server.companies.value(i, "icp_fit_tier") == "A")[:12]
            for account in top:
                hs.server.update_company(account, POOR_FIT)
            applied = Applied(hs.server, "hubspot")
            child = _kill_as_the_crm_writes(hs, store_url)
            assert child.returncode == -signal.SIGKILL
            taken = +applied.count
            assert taken, "the CRM carried out no write before the kill"
            recovery = run_cycle(ctx, hs.connector)
            assert recovery.status == "ok"
            assert applied.count == Counter({a: 1 for a in applied.count}), applied.count  # none of it twice
            assert run_cycle(ctx, hs.connector).written == 0
    finally:
        store.dispose()


POOR_FIT = {"industry": "RETAIL", "numberofemployees": "12", "uses_data_warehouse": "false"}
ROOT = Path(__file__).resolve().parents[2]


def _kill_as_the_crm_writes(hs: Any, store_url: str) -> subprocess.Popen[bytes]:
    """A cycle in a child process, SIGKILLed by the CRM as it carries out the child's first update."""
    holder: list[subprocess.Popen[bytes]] = []

    def kill(request: Request, response: Response) -> None:
        if request.route == HUBSPOT_UPDATE and response.status < 300 and holder and holder[0].poll() is None:
            os.kill(holder[0].pid, signal.SIGKILL)

    hs.server.observers.append(kill)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ICP_", "HUBSPOT_"))} | {"PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-m", "tests.outbox.child_cycle", store_url, hs.server.url], cwd=ROOT,
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    holder.append(child)
    try:
        child.wait(timeout=120)
    finally:
        hs.server.observers.remove(kill)
    return child


@pytest.mark.parametrize("fault", ["timeout after acting", "502 after acting", "500 before acting"])
def test_a_bulk_job_whose_outcome_is_unknown_is_never_started_again(engine: Engine, fault: str) -> None:
    """The connection fails as the bulk job is closed (Salesforce then runs it, or not): the records are
    read back and only those that do not hold their values go through collections, once each."""
    with salesforce_harness(accounts=30, bulk_threshold=5) as harness:
        ctx = ready_context(engine, harness.connector, "salesforce")
        jobs: list[str] = []
        collections = Counter[str]()

        def observe(request: Request, response: Response) -> None:
            if request.route == "POST /services/data/v{version}/jobs/ingest" and response.status < 300:
                jobs.append(str((response.body or {}).get("id")))
            if request.route == SALESFORCE_UPDATE and response.status < 300:
                collections.update(str(r["id"]) for r in (request.body or {}).get("records", []))

        harness.server.observers.append(observe)
        ids = harness.account_ids()[:6]
        updates = _updates(ctx, ids, "v7")
        harness.server.faults.add("PATCH /services/data/v{version}/jobs/ingest/{job}", **FAULTS[fault])
        outcome = harness.connector.write_accounts(updates)
        assert sorted(outcome.succeeded) == sorted(ids) and not outcome.failed
        assert len(jobs) == 1, jobs  # never a second job
        assert collections == (Counter(ids) if fault == "500 before acting" else Counter()), collections
        assert harness.connector.holding(updates) == set(ids)
