"""CRM harnesses: the same handles on each sandbox personality, so one contract suite runs against every connector."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine

from connectors.base import Connector
from connectors.http import RetryPolicy
from connectors.hubspot import HubSpotConnector, HubSpotSettings
from connectors.salesforce import Credentials, SalesforceConnector, SalesforceSettings
from sandbox import SalesforceSandbox, start_hubspot_sandbox, start_salesforce_sandbox
from worker.context import Context
from worker.govern.approval import approve_version
from worker.operate.cycle import utcnow
from worker.score.scorecard import load_scorecard
from worker.settings import DEFAULT_CONFIG, STARTER_SCORECARDS, ConnectionConfig, load_settings

APPROVER = "leader@example.com"
WORLD_NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


class CrmHarness(Protocol):
    """What the contract suite needs from a sandbox CRM, in CRM-neutral terms."""

    crm: str
    connector: Connector

    def account_ids(self) -> list[str]: ...
    def deal_ids(self) -> list[str]: ...
    def set_clock(self, at: datetime) -> None: ...
    def edit_accounts(self, ids: list[str], at: datetime) -> None: ...
    def stamp_accounts(self, ids: list[str], at: datetime) -> None: ...
    def write_calls(self) -> int: ...
    def account_values(self, account_id: str) -> dict[str, Any]: ...
    def owner_ids(self) -> list[str]: ...
    def deal_values(self, deal_id: str) -> dict[str, Any]: ...
    def edit_values(self, account_id: str, values: dict[str, Any], at: datetime) -> None: ...
    def tasks(self) -> list[dict[str, Any]]: ...
    def task_create_route(self) -> str: ...
    def task_calls(self) -> int: ...
    def impatient_connector(self, read_timeout: float) -> Connector: ...


@dataclass
class HubSpotHarness:
    """The HubSpot sandbox behind the contract suite."""

    server: Any
    connector: HubSpotConnector
    crm: str = "hubspot"

    def account_ids(self) -> list[str]:
        return list(self.server.companies.ids())

    def deal_ids(self) -> list[str]:
        return list(self.server.deals.ids())

    def set_clock(self, at: datetime) -> None:
        self.server.clock.set(at)

    def edit_accounts(self, ids: list[str], at: datetime) -> None:
        for i in ids:
            self.server.update_company(i, {"web_visits_30d": str(900 + int(i) % 50)}, modified_at=at)

    def stamp_accounts(self, ids: list[str], at: datetime) -> None:
        self.server.touch(ids, at)

    def write_calls(self) -> int:
        return int(self.server.calls["POST /crm/v3/objects/companies/batch/update"])

    def account_values(self, account_id: str) -> dict[str, Any]:
        store = self.server.companies
        row = store.row_of(account_id)
        names = list(self.server.portal.registries["companies"].properties)
        return {n: store.read(row, n) for n in names}

    def deal_values(self, deal_id: str) -> dict[str, Any]:
        store = self.server.deals
        row = store.row_of(deal_id)
        return {n: store.read(row, n) for n in self.server.portal.registries["deals"].properties}

    def edit_values(self, account_id: str, values: dict[str, Any], at: datetime) -> None:
        """Set properties of a company as a person would (None clears one)."""
        self.server.update_company(account_id, {k: "" if v is None else v for k, v in values.items()}, modified_at=at)

    def owner_ids(self) -> list[str]:
        return sorted(str(o) for o in self.server.portal.owner_ids)

    def tasks(self) -> list[dict[str, Any]]:
        """Every task: its review key, status, owner, company and body."""
        store, found = self.server.tasks, []
        for task_id in store.ids():
            body = store.value(task_id, "hs_task_body") or ""
            companies = self.server.associated_ids("tasks", task_id, "companies")
            found.append({"id": task_id, "key": body.rsplit("Review key: ", 1)[-1].strip(), "body": body,
                          "subject": store.value(task_id, "hs_task_subject"),
                          "done": store.value(task_id, "hs_task_status") == "COMPLETED",
                          "owner": store.value(task_id, "hubspot_owner_id"),
                          "account": companies[0] if companies else None})
        return found

    def task_create_route(self) -> str:
        return "POST /crm/v3/objects/tasks/batch/create"

    def impatient_connector(self, read_timeout: float) -> HubSpotConnector:
        """Another connector to this portal that gives up waiting for an answer after ``read_timeout`` seconds."""
        return HubSpotConnector(HubSpotSettings(access_token="t0ken-sandbox", base_url=self.server.url,
                                                timeout=(2.0, read_timeout),
                                                retry=RetryPolicy(base_delay=0.01, max_delay=0.05)))

    def task_calls(self) -> int:
        return int(sum(n for route, n in self.server.calls.items() if route.startswith("POST /crm/v3/objects/tasks")
                       and not route.endswith("/search")))


@contextmanager
def hubspot_harness(accounts: int = 300, seed: int = 11, search_cap: int = 10_000) -> Iterator[HubSpotHarness]:
    """A running HubSpot sandbox and a connector pointed at it."""
    server = start_hubspot_sandbox(seed=seed, accounts=accounts, now=WORLD_NOW, token="t0ken-sandbox",
                                   search_result_cap=search_cap)
    server.clock.set(WORLD_NOW + timedelta(hours=1))
    connector = HubSpotConnector(HubSpotSettings(access_token="t0ken-sandbox", base_url=server.url, per_10s=250,
                                                 search_per_second=5, search_cap=search_cap,
                                                 retry=RetryPolicy(base_delay=0.01, max_delay=0.05)))
    try:
        yield HubSpotHarness(server, connector)
    finally:
        connector.close()
        server.stop()


@dataclass
class SalesforceHarness:
    """The Salesforce sandbox (over TLS) behind the contract suite."""

    server: SalesforceSandbox
    connector: SalesforceConnector
    crm: str = "salesforce"

    def account_ids(self) -> list[str]:
        return self.server.ids("Account")

    def deal_ids(self) -> list[str]:
        return self.server.ids("Opportunity")

    def set_clock(self, at: datetime) -> None:
        self.server.clock.set(at)

    def edit_accounts(self, ids: list[str], at: datetime) -> None:
        for i in ids:
            self.server.update_record("Account", i, {"Web_Visits_30d__c": 900 + int(i[5:15]) % 50}, modified_at=at)

    def stamp_accounts(self, ids: list[str], at: datetime) -> None:
        self.server.touch(ids, at)

    def write_calls(self) -> int:
        return int(self.server.calls["PATCH /services/data/v{version}/composite/sobjects"]
                   + self.server.calls["POST /services/data/v{version}/jobs/ingest"])

    def account_values(self, account_id: str) -> dict[str, Any]:
        return self.server.values("Account", account_id)

    def deal_values(self, deal_id: str) -> dict[str, Any]:
        return self.server.values("Opportunity", deal_id)

    def edit_values(self, account_id: str, values: dict[str, Any], at: datetime) -> None:
        """Set fields of an Account as a person would (None clears one)."""
        self.server.update_record("Account", account_id, values, modified_at=at)

    def owner_ids(self) -> list[str]:
        return [i for i in self.server.ids("User") if self.server.values("User", i).get("IsActive")]

    def tasks(self) -> list[dict[str, Any]]:
        """Every Task: its review key, status, owner, account and description."""
        found = []
        for task_id in self.server.ids("Task"):
            values = self.server.values("Task", task_id)
            found.append({"id": task_id, "key": values.get("ICP_Review_Key__c"), "body": values.get("Description"),
                          "subject": values.get("Subject"), "done": values.get("Status") == "Completed",
                          "owner": values.get("OwnerId"), "account": values.get("WhatId")})
        return found

    def task_create_route(self) -> str:
        return "PATCH /services/data/v{version}/composite/sobjects/{sobject}/{field}"

    def impatient_connector(self, read_timeout: float) -> SalesforceConnector:
        """Another connector to this org that gives up waiting for an answer after ``read_timeout`` seconds."""
        return SalesforceConnector(salesforce_settings(self.server, timeout=(2.0, read_timeout)))

    def task_calls(self) -> int:
        return int(sum(n for route, n in self.server.calls.items() if "/composite/sobjects" in route))



def salesforce_settings(server: SalesforceSandbox, **overrides: Any) -> SalesforceSettings:
    """Connector settings for a sandbox org: client credentials, the sandbox's CA, fast retries."""
    credentials = Credentials("client_credentials", client_id=server.credentials.client_id,
                              client_secret=server.credentials.client_secret)
    base: dict[str, Any] = {"credentials": credentials, "login_url": server.url, "ca_bundle": str(server.ca_path),
                            "retry": RetryPolicy(base_delay=0.01, max_delay=0.05), "bulk_poll_seconds": 0}
    return SalesforceSettings(**(base | overrides))


@contextmanager
def salesforce_harness(accounts: int = 300, seed: int = 11, **overrides: Any) -> Iterator[SalesforceHarness]:
    """A running Salesforce sandbox and a connector pointed at it (settings ``overrides`` allowed)."""
    server = start_salesforce_sandbox(seed=seed, accounts=accounts, now=WORLD_NOW)
    server.clock.set(WORLD_NOW + timedelta(hours=1))
    connector = SalesforceConnector(salesforce_settings(server, **overrides))
    try:
        yield SalesforceHarness(server, connector)
    finally:
        connector.close()
        server.stop()


HARNESSES: dict[str, Callable[[], AbstractContextManager[Any]]] = {
    "hubspot": hubspot_harness, "salesforce": salesforce_harness}


def make_context(engine: Engine, crm: str = "hubspot", name: str = "main") -> Context:
    """A connection context on a test store, with one named approver."""
    settings = load_settings(overrides={}).model_copy(update={
        "connections": {name: ConnectionConfig(crm=crm, approvers=[APPROVER])}})  # type: ignore[arg-type]
    return Context.open(settings, name, engine)


def ready_context(engine: Engine, connector: Connector, crm: str = "hubspot", name: str = "main") -> Context:
    """A connection context whose CRM has the fields the worker writes and reads (``icp setup``)."""
    context = make_context(engine, crm, name)
    connector.setup_fields(context.mapping.setup_specs())
    return context


def approve_starter(ctx: Context) -> None:
    """Approve the starter scorecard as the version in force."""
    card = load_scorecard(DEFAULT_CONFIG / STARTER_SCORECARDS[ctx.config.crm])
    version = ctx.versions.create(card, by="test", now=utcnow())
    approve_version(ctx.versions, version.version, by=APPROVER, now=utcnow(), accept_risks=True, note="test")
