"""A built-in fake CRM that speaks real HTTP on 127.0.0.1.

`generate_world()` builds a deterministic data world with a planted ICP (`PLANTED_TRUTH`);
`start_hubspot_sandbox()` serves it with HubSpot's API shapes, `start_salesforce_sandbox()` with
Salesforce's (over TLS, with a generated certificate).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox.clock import Clock
from sandbox.faults import Fault, FaultInjector
from sandbox.hubspot import DEFAULT_SEARCH_RESULT_CAP, HubSpotSandbox, ValidationFailed
from sandbox.ratelimit import DAILY, SECONDLY, TEN_SECONDLY, RateLimiter
from sandbox.salesforce import SalesforceSandbox
from sandbox.server import Request, Response, SandboxServer
from sandbox.world import PLANTED_TRUTH, Account, Deal, Note, Owner, World, generate_world

__all__ = [
    "PLANTED_TRUTH",
    "World",
    "Owner",
    "Account",
    "Deal",
    "Note",
    "generate_world",
    "SandboxServer",
    "Request",
    "Response",
    "Clock",
    "Fault",
    "FaultInjector",
    "RateLimiter",
    "TEN_SECONDLY",
    "DAILY",
    "SECONDLY",
    "HubSpotSandbox",
    "ValidationFailed",
    "DEFAULT_SEARCH_RESULT_CAP",
    "start_hubspot_sandbox",
    "SalesforceSandbox",
    "start_salesforce_sandbox",
]


def start_hubspot_sandbox(seed: int = 7, accounts: int = 2000, now: datetime | None = None,
                          token: str | None = None, port: int = 0,
                          search_result_cap: int = DEFAULT_SEARCH_RESULT_CAP) -> HubSpotSandbox:
    """Generate a world and serve it as a running HubSpot sandbox (call `stop()` when done).

    `now` defaults to the current UTC time, truncated to the minute.
    """
    now = now or datetime.now(UTC).replace(second=0, microsecond=0)
    world = generate_world(seed, accounts, now)
    sandbox = HubSpotSandbox(world, port=port, token=token, search_result_cap=search_result_cap)
    sandbox.start()
    return sandbox


def start_salesforce_sandbox(seed: int = 7, accounts: int = 2000, now: datetime | None = None,
                             port: int = 0) -> SalesforceSandbox:
    """Generate a world and serve it as a running Salesforce org over HTTPS (call `stop()` when done).

    Clients trust `sandbox.ca_path`; the connected app's credentials are in `sandbox.credentials`.
    `now` defaults to the current UTC time, truncated to the minute.
    """
    now = now or datetime.now(UTC).replace(second=0, microsecond=0)
    sandbox = SalesforceSandbox(generate_world(seed, accounts, now), port=port)
    sandbox.start()
    return sandbox
