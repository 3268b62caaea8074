"""Owned fields (checks, the deploy/salesforce package, API setup, field-level security) and review Tasks."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from sqlalchemy import Engine

from connectors.base import TaskRequest
from tests.contract.harness import WORLD_NOW, SalesforceHarness, make_context
from tests.salesforce.conftest import DEPLOY
from worker.context import Context
from worker.operate.cycle import run_cycle

KEY = "Task.ICP_Review_Key__c"


def test_missing_fields_fail_the_run_naming_them_and_the_fix(engine: Engine, sf: SalesforceHarness) -> None:
    """In an org without the package the run fails, naming every missing field and how to add them."""
    summary = run_cycle(make_context(engine, "salesforce"), sf.connector)
    assert summary.status == "failed"
    for name in ("ICP_Fit_Score__c", "ICP_Fit_Tier__c", "ICP_Fit_Reasons__c", "ICP_Scorecard_Version__c",
                 "ICP_Scored_At__c", KEY, "deploy/salesforce", "ICP_Worker"):
        assert name in (summary.message or "")


def test_the_deploy_package_provides_every_field_the_run_needs(engine: Engine, sf: SalesforceHarness) -> None:
    """Deploying deploy/salesforce and assigning ICP_Worker makes the check pass, overrides included."""
    context = make_context(engine, "salesforce")
    sf.server.deploy(DEPLOY)
    assert sf.connector.check_fields(context.mapping.setup_specs()[:5]).ok
    describe = sf.connector.schema.fields("Account", refresh=True)
    assert not describe["ICP_Fit_Override__c"]["updateable"]
    assert describe["ICP_Fit_Override_Reason__c"]["type"] == "textarea"


def test_fields_hidden_by_field_level_security_count_as_missing(engine: Engine, sf: SalesforceHarness) -> None:
    """Fields deployed without the permission set assigned are invisible, so the check lists them."""
    context = make_context(engine, "salesforce")
    sf.server.deploy(DEPLOY, assign=None)
    status = sf.connector.check_fields(context.mapping.setup_specs()[:5])
    assert "ICP_Fit_Score__c" in status.missing and KEY in status.missing
    assert "field-level security" in status.how_to_fix


def test_setup_creates_and_grants_the_fields_once(engine: Engine, sf: SalesforceHarness) -> None:
    """API setup (Tooling API + permission set) creates what is missing; a second setup creates nothing."""
    specs = make_context(engine, "salesforce").mapping.setup_specs()
    created = sf.connector.setup_fields(specs)
    assert len(created) == len(specs) + 1 and KEY in created
    assert sf.connector.setup_fields(specs) == []
    assert sf.connector.check_fields(specs).ok


def _task(key: str, priority: Literal["LOW", "MEDIUM", "HIGH"] = "HIGH", account: str | None = None) -> TaskRequest:
    return TaskRequest(key=key, subject="Review the ICP tier change", body="Tier A -> C", priority=priority,
                       due=WORLD_NOW + timedelta(days=7), account_id=account)


def test_tasks_are_idempotent_on_the_review_key(ctx: Context, sf: SalesforceHarness) -> None:
    """Creating a Task twice with one key upserts one Task; find_task finds it."""
    account = sf.account_ids()[0]
    first = sf.connector.create_task(_task("icpreviewabc123", account=account))
    assert sf.connector.create_task(_task("icpreviewabc123", account=account)) == first
    assert sf.connector.find_task("icpreviewabc123") == first
    assert len(sf.server.ids("Task")) == 1
    task = sf.server.values("Task", first)
    assert task["WhatId"] == account and task["ActivityDate"] == "2026-11-08" and task["Priority"] == "High"


def test_tasks_take_status_and_priority_from_the_org(ctx: Context, sf: SalesforceHarness) -> None:
    """The org's default status and its own priority values are used, not hard-coded labels."""
    for row in sf.server.table("TaskStatus").records.values():
        row["IsDefault"] = row["MasterLabel"] == "In Progress"
    low = sf.server.values("Task", sf.connector.create_task(_task("icpreviewlow", priority="LOW")))
    medium = sf.server.values("Task", sf.connector.create_task(_task("icpreviewmed", priority="MEDIUM")))
    assert (low["Status"], low["Priority"], medium["Priority"]) == ("In Progress", "Low", "Normal")


def test_review_keys_are_escaped_in_soql(ctx: Context, sf: SalesforceHarness) -> None:
    """A key with quotes is a value, never SOQL: it finds nothing rather than everything."""
    sf.connector.create_task(_task("icpreviewreal"))
    assert sf.connector.find_task("x' OR Subject != 'y") is None
