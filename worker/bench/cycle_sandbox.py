"""The sandbox CRM of ``icp bench cycle``, served from its own process.

The portal lives in a child process so that the worker's peak resident memory, measured in the
benchmark's own processes, never includes it. The parent drives it through a pipe: switch rate
limits, zero and read the server's call counters (and the 429s it answered), edit a share of the
companies as reps would, and count the records modified since a moment.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

TOKEN = "bench-cycle-token"
OBJECTS = {"hubspot": {"accounts": "companies", "deals": "deals", "notes": "notes"},
           "salesforce": {"accounts": "Account", "deals": "Opportunity", "notes": "Note"}}


class BenchSandbox:
    """A sandbox CRM served by a child process; ``info`` says where and how big it is."""

    def __init__(self, crm: str, seed: int, accounts: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, crm, seed, accounts), daemon=True,
                                        name="icp-bench-sandbox")
        self._process.start()
        self.info: dict[str, Any] = self._pipe.recv()

    def ask(self, command: str, argument: Any = None) -> Any:
        """Send one command and return its answer."""
        self._pipe.send((command, argument))
        return self._pipe.recv()

    def limit(self, per_10s: int | None, search_per_second: int | None) -> None:
        """Enforce these limits (None: off) from now on, with empty windows."""
        self.ask("limit", (per_10s, search_per_second))

    def reset(self) -> None:
        """Zero the server's call and 429 counters."""
        self.ask("reset")

    def stats(self) -> dict[str, Any]:
        """The server's calls by route and 429s by policy since the last reset, and its peak memory."""
        return dict(self.ask("stats"))

    def change(self, share: float, seed: int) -> int:
        """Edit ``share`` of the companies as a rep would (employees and web visits); returns how many."""
        return int(self.ask("change", (share, seed)))

    def modified_since(self, moment: datetime) -> dict[str, int]:
        """Records of each object modified at or after ``moment``."""
        return dict(self.ask("modified_since", moment))

    def stop(self) -> None:
        """Stop serving and end the child process."""
        try:
            self.ask("stop")
        finally:
            self._process.join(timeout=10)


def _serve(pipe: Connection, crm: str, seed: int, accounts: int) -> None:
    """The child process: serve the portal and answer the parent's commands until told to stop."""
    from sandbox import start_hubspot_sandbox, start_salesforce_sandbox

    sandbox: Any
    if crm == "hubspot":
        sandbox = start_hubspot_sandbox(seed=seed, accounts=accounts, token=TOKEN)
        info: dict[str, Any] = {"url": sandbox.url, "token": TOKEN}
    else:
        sandbox = start_salesforce_sandbox(seed=seed, accounts=accounts)
        info = {"url": sandbox.url, "ca_path": str(sandbox.ca_path), "client_id": sandbox.credentials.client_id,
                "client_secret": sandbox.credentials.client_secret}
    world = sandbox.world
    info.update(crm=crm, accounts=len(world.accounts), deals=len(world.deals), notes=len(world.notes),
                owners=len(world.owners))
    refused: Counter[str] = Counter()
    answer = sandbox.rate_limited_response

    def counted(policy: str) -> Any:
        refused[policy] += 1
        return answer(policy)

    sandbox.rate_limited_response = counted
    handlers: dict[str, Callable[[Any], Any]] = {
        "limit": lambda a: (sandbox.rate_limit(per_10s=a[0], search_per_second=a[1]), sandbox.limiter.reset()),
        "reset": lambda a: _reset(sandbox, refused),
        "stats": lambda a: {"calls": dict(sandbox.calls), "refused": dict(refused), "peak_rss_mb": _peak_mb()},
        "change": lambda a: _change(sandbox, crm, *a),
        "modified_since": lambda a: _modified_since(sandbox, crm, a),
    }
    pipe.send(info)
    while True:
        command, argument = pipe.recv()
        if command == "stop":
            sandbox.stop()
            pipe.send(None)
            return
        pipe.send(handlers[command](argument))


def _peak_mb() -> float:
    """This process's peak resident memory (the sandbox's portal, apart from the worker's)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _reset(sandbox: Any, refused: Counter[str]) -> None:
    sandbox.reset_calls()
    refused.clear()


def _change(sandbox: Any, crm: str, share: float, seed: int) -> int:
    """Edit a share of the companies: more employees and web visits, as a rep or an enrichment would."""
    import random

    ids = sorted(sandbox.companies.ids()) if crm == "hubspot" else sorted(sandbox.ids("Account"))
    picked = random.Random(seed).sample(ids, int(round(len(ids) * share)))
    for number, record_id in enumerate(picked):
        employees, visits = str(50 + (number * 37) % 4000), str((number * 7) % 90)
        if crm == "hubspot":
            sandbox.update_company(record_id, {"numberofemployees": employees, "web_visits_30d": visits})
        else:
            sandbox.update_record("Account", record_id, {"NumberOfEmployees": int(employees)})
    return len(picked)


def _modified_since(sandbox: Any, crm: str, moment: datetime) -> dict[str, int]:
    counts: dict[str, int] = {}
    since_ms = int(moment.astimezone(UTC).timestamp() * 1000)
    for object_type, name in OBJECTS[crm].items():
        if crm == "hubspot":
            stamps = sandbox.portal.stores[name].texts("hs_lastmodifieddate")
            counts[object_type] = sum(1 for s in stamps if s and _iso_ms(s) >= since_ms)
        else:
            table = sandbox.table(name)
            counts[object_type] = sum(1 for r in table.records.values() if int(r["SystemModstamp"]) >= since_ms)
    return counts


def _iso_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
