"""Contract: review tasks go out in batches, exactly once, whatever fails between the worker and the CRM."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.base import TaskCompletion, TaskRequest
from tests.contract.harness import WORLD_NOW, CrmHarness, ready_context
from worker.govern.tasks import task_key


def requests(crm: CrmHarness, n: int, prefix: str = "t") -> list[TaskRequest]:
    owners, accounts = crm.owner_ids(), crm.account_ids()
    return [TaskRequest(key=task_key("contract", prefix, i), subject=f"Review {i}", body=f"Please review account {i}.",
                        due=WORLD_NOW + timedelta(days=7), owner_id=owners[i % len(owners)],
                        account_id=accounts[i]) for i in range(n)]


def by_key(crm: CrmHarness) -> dict[str, list[dict[str, object]]]:
    found: dict[str, list[dict[str, object]]] = {}
    for task in crm.tasks():
        found.setdefault(str(task["key"]), []).append(task)
    return found


def test_tasks_go_out_in_batches_with_owner_and_account(crm: CrmHarness, engine: object) -> None:
    """250 tasks: 3 calls of 100 on HubSpot, 2 collections of 200 on Salesforce, each on its account and owner."""
    ready_context(engine, crm.connector, crm.crm)  # type: ignore[arg-type]
    wanted = requests(crm, 250)
    before = crm.task_calls()
    outcome = crm.connector.ensure_tasks(wanted)
    assert not outcome.failed and len(outcome.ids) == 250
    assert crm.task_calls() - before == (3 if crm.crm == "hubspot" else 2)
    stored = by_key(crm)
    for request in wanted:
        [task] = stored[request.key]
        assert task["owner"] == request.owner_id and task["account"] == request.account_id
        assert task["id"] == outcome.ids[request.key] and not task["done"]


@pytest.mark.parametrize("fault", [502, 504, "timeout"])
def test_a_failure_after_the_crm_created_the_tasks_never_duplicates_them(crm: CrmHarness, engine: object,
                                                                           fault: int | str) -> None:
    """The CRM creates the batch, then the answer is lost: the retry finds the tasks instead of adding more."""
    ready_context(engine, crm.connector, crm.crm)  # type: ignore[arg-type]
    connector = crm.impatient_connector(2.0) if fault == "timeout" else crm.connector
    status, delay = (504, 3.0) if fault == "timeout" else (int(fault), 0.0)
    crm.server.faults.add(crm.task_create_route(), status, delay=delay, after=True)  # type: ignore[attr-defined]
    wanted = requests(crm, 30, prefix=str(fault))
    try:
        outcome = connector.ensure_tasks(wanted)
    finally:
        if connector is not crm.connector:
            connector.close()
    assert not outcome.failed and len(outcome.ids) == 30
    stored = by_key(crm)
    assert {k: len(v) for k, v in stored.items()} == {r.key: 1 for r in wanted}
    assert {outcome.ids[r.key] for r in wanted} == {str(v[0]["id"]) for v in stored.values()}


def test_keys_an_interrupted_attempt_may_have_created_are_looked_up_first(crm: CrmHarness, engine: object) -> None:
    """A task made just before a crash is found by its key and kept (never recreated, never overwritten)."""
    ready_context(engine, crm.connector, crm.crm)  # type: ignore[arg-type]
    wanted = requests(crm, 4, prefix="crash")
    first = crm.connector.ensure_tasks(wanted[:1])
    outcome = crm.connector.ensure_tasks(wanted, look_up={r.key for r in wanted})
    assert outcome.found == {wanted[0].key} and outcome.ids[wanted[0].key] == first.ids[wanted[0].key]
    assert {k: len(v) for k, v in by_key(crm).items()} == {r.key: 1 for r in wanted}


def test_completing_tasks_writes_the_outcome_and_is_idempotent(crm: CrmHarness, engine: object) -> None:
    """Completion closes the task with its final body; sending it twice changes nothing more."""
    ready_context(engine, crm.connector, crm.crm)  # type: ignore[arg-type]
    [request] = requests(crm, 1, prefix="done")
    task_id = crm.connector.ensure_tasks([request]).ids[request.key]
    final = f"{request.body}\n\nOutcome: approved by leader@example.com (web)."
    for _ in range(2):
        outcome = crm.connector.complete_tasks([TaskCompletion(task_id, request.key, final)])
        assert outcome.succeeded == (task_id,) and not outcome.failed
    [task] = by_key(crm)[request.key]
    assert task["done"] and "Outcome: approved by leader@example.com" in str(task["body"])
