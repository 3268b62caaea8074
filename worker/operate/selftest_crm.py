"""The sandbox CRMs as the self-test drives them: start a seeded portal, configure the worker for it, change
accounts like a rep would, log every write it receives, read its tasks, and inject each fault kind.

Everything here speaks to the sandbox's own handles (``sandbox``), never to the worker's store, so the
self-test's checks are independent of what the worker believes it did.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox import start_hubspot_sandbox, start_salesforce_sandbox
from sandbox.server import Request, Response

WORLD_NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "salesforce"
TOKEN = "t0ken-selftest"
HTML = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"
_HUBSPOT_KEY = re.compile(r"Review key: (\w+)\s*$")


@dataclass
class WriteLog:
    """Owned values the CRM received per record, in order (only calls the CRM carried out)."""

    writes: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def duplicates(self, owned: tuple[str, ...]) -> int:
        """Writes whose every owned value sent equals what the record already held from earlier writes (a write
        that changed nothing); a write may send only the fields that changed."""
        count = 0
        for sent in self.writes.values():
            held: dict[str, str] = {}
            for values in sent:
                fields = {k: str(values[k]) for k in owned if k in values}
                if fields and all(held.get(k) == v for k, v in fields.items()):
                    count += 1
                held.update(fields)
        return count


@dataclass(frozen=True)
class CrmTask:
    """A task as the CRM holds it: its review key, the accounts it is about, its subject."""

    key: str | None
    accounts: list[str]
    subject: str = ""


@dataclass(frozen=True)
class FaultSpec:
    """One fault kind on one route: ``add`` keyword arguments for :meth:`sandbox.faults.FaultInjector.add`."""

    kind: str
    route: str
    status: int
    options: dict[str, Any]


class SandboxCrm:
    """The part both sandbox personalities share."""

    crm = ""
    list_route = ""
    write_route = ""
    task_routes: tuple[str, ...] = ()

    def __init__(self, server: Any) -> None:
        self.server = server
        self.log = WriteLog()
        self._on_write: Callable[[], None] | None = None
        server.observers.append(self._observe)  # the CRM's clock runs in real time, as the worker's does

    def config(self) -> str:
        """The ``[connections.main]`` lines that point the worker at this sandbox."""
        raise NotImplementedError

    def change_accounts(self, ids: list[str]) -> None:
        """Change the scoring attributes of ``ids`` in the CRM, as a person editing records would."""
        raise NotImplementedError

    def reviewers(self) -> tuple[str, str]:
        """The emails of two CRM users, to review proposals."""
        owners = self.server.world.owners
        return owners[0].email, owners[1].email

    def stop(self) -> None:
        """Stop serving."""
        self.server.stop()

    def on_write(self, act: Callable[[], None] | None) -> None:
        """Call ``act`` as the CRM carries out the next update of owned values (before it answers); None: never."""
        self._on_write = act

    def _observe(self, request: Request, response: Response) -> None:
        if request.route == self.write_route and response.status < 300:
            written = self.written(request.body, response.body)
            for record_id, values in written:
                self.log.writes[record_id].append(values)
            act, self._on_write = self._on_write, None
            if act is not None and written:
                act()
            elif act is not None:
                self._on_write = act

    def written(self, body: Any, answer: Any) -> list[tuple[str, dict[str, Any]]]:
        """(record id, values) of each record a write call's body sent and its answer says was applied (a
        record refused in a partial success was not written)."""
        raise NotImplementedError

    def faults(self) -> list[FaultSpec]:
        """Every fault kind this CRM can show, on the routes where it matters."""
        read, write = self.list_route, self.write_route
        specs = [
            FaultSpec("429 short Retry-After", read, 429, {"headers": {"Retry-After": "0.2"}, "times": 2}),
            FaultSpec("429 long Retry-After", write, 429, {"headers": {"Retry-After": "3600"}}),
            FaultSpec("500 before acting", write, 500, {}), FaultSpec("502 after acting", write, 502, {"after": True}),
            FaultSpec("503 before acting", read, 503, {}), FaultSpec("504 after acting", write, 504, {"after": True}),
            FaultSpec("timeout after acting", write, 200, {"after": True, "cut": "drop", "delay": 0.3}),
            FaultSpec("dropped connection", read, 200, {"cut": "drop"}),
            FaultSpec("truncated body", read, 200, {"after": True, "cut": "truncate"}),
            FaultSpec("non-JSON 200", read, 200, {"raw": b"upstream reset before headers"}),
            FaultSpec("HTML 200", read, 200, {"raw": HTML, "headers": {"Content-Type": "text/html"}}),
            *[FaultSpec(f"task {kind}", route, status, options) for route in self.task_routes[:1]
              for kind, status, options in (("502 after acting", 502, {"after": True}),
                                            ("timeout after acting", 200, {"after": True, "cut": "drop"}))],
        ]
        return specs + self.own_faults()

    def own_faults(self) -> list[FaultSpec]:
        """Faults only this CRM has (its daily quota, its partial-success answers, its sessions)."""
        return []

    def inject(self, spec: FaultSpec, skip: int) -> None:
        """Arm one fault (after ``skip`` matching calls go through)."""
        self.special(spec) or self.server.faults.add(spec.route, spec.status, skip=skip, **spec.options)

    def special(self, spec: FaultSpec) -> bool:
        """Faults that are not a canned answer (a 207 on some records, expired sessions); True when handled."""
        return False

    def clear(self) -> None:
        """Disarm every fault."""
        self.server.faults.clear()

    def tasks(self) -> list[CrmTask]:
        """Each task in the CRM: its review key, the accounts it is about and its subject."""
        raise NotImplementedError


class HubSpotCrm(SandboxCrm):
    """A seeded HubSpot portal."""

    crm = "hubspot"
    list_route = "GET /crm/v3/objects/companies"
    write_route = "POST /crm/v3/objects/companies/batch/update"
    task_routes = ("POST /crm/v3/objects/tasks/batch/create", "POST /crm/v3/objects/tasks")

    def __init__(self, seed: int, accounts: int) -> None:
        super().__init__(start_hubspot_sandbox(seed=seed, accounts=accounts, now=WORLD_NOW, token=TOKEN))

    def config(self) -> str:
        """The connection's TOML lines."""
        return f'[connections.main.hubspot]\nbase_url = "{self.server.url}"\ntoken_env = "ICP_SELFTEST_TOKEN"\n'

    def env(self) -> dict[str, str]:
        """The credentials' environment."""
        return {"ICP_SELFTEST_TOKEN": TOKEN}

    def written(self, body: Any, answer: Any) -> list[tuple[str, dict[str, Any]]]:
        applied = {str(r.get("id")) for r in (answer or {}).get("results", []) if isinstance(r, dict)}
        return [(str(i.get("id")), dict(i.get("properties") or {})) for i in (body or {}).get("inputs", [])
                if str(i.get("id")) in applied]

    def own_faults(self) -> list[FaultSpec]:
        daily = {"status": "error", "message": "You have reached your daily limit.", "errorType": "RATE_LIMIT",
                 "correlationId": "c", "policyName": "DAILY", "groupName": "g"}
        return [FaultSpec("daily quota", self.write_route, 429, {"body": daily}),
                FaultSpec("207 partial success", self.write_route, 207, {})]

    def special(self, spec: FaultSpec) -> bool:
        if spec.status == 207:
            self.server.fail_ids_on_update(set(self.server.companies.ids()[:5]), times=1)
            return True
        return False

    def change_accounts(self, ids: list[str]) -> None:
        """Make accounts a poor fit, as a rep editing them would."""
        for account in ids:
            self.server.update_company(account, {"industry": "RETAIL", "numberofemployees": "12",
                                                  "uses_data_warehouse": "false"})

    def tasks(self) -> list[CrmTask]:
        found = []
        for task in self.server.tasks.ids():
            match = _HUBSPOT_KEY.search(self.server.tasks.value(task, "hs_task_body") or "")
            found.append(CrmTask(match.group(1) if match else None,
                                 self.server.associated_ids("tasks", task, "companies"),
                                 self.server.tasks.value(task, "hs_task_subject") or ""))
        return found


class SalesforceCrm(SandboxCrm):
    """A seeded Salesforce org over TLS, the worker's package deployed."""

    crm = "salesforce"
    list_route = "GET /services/data/v{version}/query/{locator}"
    write_route = "PATCH /services/data/v{version}/composite/sobjects"
    task_routes = ("POST /services/data/v{version}/composite/sobjects",
                   "PATCH /services/data/v{version}/composite/sobjects/{sobject}/{field}")

    def __init__(self, seed: int, accounts: int) -> None:
        super().__init__(start_salesforce_sandbox(seed=seed, accounts=accounts, now=WORLD_NOW))
        self.server.deploy(DEPLOY)

    def config(self) -> str:
        """The connection's TOML lines (composite writes of 200; pages of 200 rows)."""
        return (f'[connections.main.salesforce]\nlogin_url = "{self.server.url}"\nca_bundle = "{self.server.ca_path}"\n'
                "bulk_threshold = 1000000\nquery_batch_size = 200\n")

    def env(self) -> dict[str, str]:
        """The credentials' environment."""
        return {"SALESFORCE_CLIENT_ID": self.server.credentials.client_id,
                "SALESFORCE_CLIENT_SECRET": self.server.credentials.client_secret}

    def written(self, body: Any, answer: Any) -> list[tuple[str, dict[str, Any]]]:
        rows = [r for r in (body or {}).get("records", []) if isinstance(r, dict)]
        results = answer if isinstance(answer, list) else []
        found = []
        for index, row in enumerate(rows):
            fields = {k.lower(): k for k in row}  # Salesforce field names are case-insensitive
            if (row.get("attributes") or {}).get("type") != "Account" or "id" not in fields:
                continue
            if index >= len(results) or not (isinstance(results[index], dict) and results[index].get("success")):
                continue  # refused (allOrNone false answers each record in request order)
            values = {k: v for k, v in row.items() if k.lower() not in ("id", "attributes")}
            found.append((str(row[fields["id"]]), values))
        return found

    def own_faults(self) -> list[FaultSpec]:
        limit = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
        return [FaultSpec("daily quota", self.write_route, 403, {"body": limit}),
                FaultSpec("207 partial success", self.write_route, 200, {}),
                FaultSpec("expired session", self.list_route, 401, {})]

    def special(self, spec: FaultSpec) -> bool:
        if spec.kind == "207 partial success":
            self.server.fail_ids_on_update(set(self.server.ids("Account")[:5]), times=1)
            return True
        if spec.kind == "expired session":
            self.server.expire_sessions()
            return True
        return False

    def change_accounts(self, ids: list[str]) -> None:
        """Make accounts a poor fit, as a rep editing them would."""
        for account in ids:
            self.server.update_record("Account", account, {"Industry": "Retail", "NumberOfEmployees": 12,
                                                           "Uses_Data_Warehouse__c": False})

    def tasks(self) -> list[CrmTask]:
        found = []
        for task in self.server.ids("Task"):
            values = self.server.values("Task", task)
            found.append(CrmTask(values.get("ICP_Review_Key__c"),
                                 [str(values["WhatId"])] if values.get("WhatId") else [],
                                 str(values.get("Subject") or "")))
        return found


def start_crm(crm: str, seed: int, accounts: int) -> HubSpotCrm | SalesforceCrm:
    """A running sandbox CRM of the given kind."""
    return HubSpotCrm(seed, accounts) if crm == "hubspot" else SalesforceCrm(seed, accounts)
