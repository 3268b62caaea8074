"""Foreground serving for `icp sandbox serve`."""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass

from sandbox import start_hubspot_sandbox, start_salesforce_sandbox
from sandbox.hubspot import HubSpotSandbox
from sandbox.salesforce import SalesforceSandbox

__all__ = ["serve", "CRMS", "Limits", "DEFAULT_LIMITS"]

CRMS = ("hubspot", "salesforce")


@dataclass(frozen=True)
class Limits:
    """The rate limits a served sandbox enforces; None switches one off.

    HubSpot's documented limits for a Free or Starter portal's private app: 100 requests per 10 s
    (burst) and 250,000 a day, search 5 requests per second and exempt from the burst window
    (developers.hubspot.com/docs/api/usage-details; search guide, "Limitations"). Salesforce counts
    only a daily allocation (100,000 + 1,000 per licence for Enterprise Edition, "API Request Limits
    and Allocations"), answered with 403 REQUEST_LIMIT_EXCEEDED.
    """

    per_10s: int | None
    daily: int | None
    search_per_second: int | None = None


DEFAULT_LIMITS = {"hubspot": Limits(100, 250_000, 5), "salesforce": Limits(None, 100_000)}


def serve(crm: str = "hubspot", port: int = 8765, seed: int = 7, accounts: int = 2000,
          token: str | None = None, limits: Limits | None = None) -> None:
    """Serve a sandbox CRM until Ctrl-C, printing its URL; ``limits`` default to the CRM's documented ones."""
    if crm not in CRMS:
        raise ValueError(f"Unknown CRM {crm!r}; choose one of {', '.join(CRMS)}")
    limits = DEFAULT_LIMITS[crm] if limits is None else limits
    if crm == "salesforce":
        sandbox: HubSpotSandbox | SalesforceSandbox = _serve_salesforce(port, seed, accounts)
    else:
        sandbox = start_hubspot_sandbox(seed=seed, accounts=accounts, token=token, port=port)
        world = sandbox.world
        print(f"HubSpot sandbox listening on {sandbox.url}")
        print(f"  seed={seed} companies={len(world.accounts)} deals={len(world.deals)} notes={len(world.notes)}")
        print(f"  token: {'any bearer token' if token is None else 'the one given with --token'}")
    sandbox.rate_limit(per_10s=limits.per_10s, daily=limits.daily, search_per_second=limits.search_per_second)
    print(f"  rate limits: {describe_limits(limits)}")
    print("Press Ctrl-C to stop.")
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sandbox.stop()
        print("Sandbox stopped.")


def describe_limits(limits: Limits) -> str:
    """The enforced limits in words."""
    parts = [f"{limits.per_10s} requests per 10 s" if limits.per_10s else "",
             f"search {limits.search_per_second}/s" if limits.search_per_second else "",
             f"{limits.daily:,} a day" if limits.daily else ""]
    return ", ".join(p for p in parts if p) or "none"


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops the sandbox like Ctrl-C (the Salesforce one removes its generated keys)."""
    raise KeyboardInterrupt


def _serve_salesforce(port: int, seed: int, accounts: int) -> SalesforceSandbox:
    sandbox = start_salesforce_sandbox(seed=seed, accounts=accounts, port=port)
    key = sandbox.enable_jwt()
    world, credentials = sandbox.world, sandbox.credentials
    print(f"Salesforce sandbox listening on {sandbox.url} (TLS; trust {sandbox.ca_path})")
    print(f"  seed={seed} accounts={len(world.accounts)} opportunities={len(world.deals)} notes={len(world.notes)}")
    print("  connection settings: [connections.<name>] crm = \"salesforce\"; [connections.<name>.salesforce] "
          f"login_url = \"{sandbox.url}\", ca_bundle = \"{sandbox.ca_path}\"")
    print(f"  client credentials: SALESFORCE_CLIENT_ID={credentials.client_id} "
          f"SALESFORCE_CLIENT_SECRET={credentials.client_secret}")
    print(f"  JWT bearer: SALESFORCE_USERNAME={credentials.username} SALESFORCE_PRIVATE_KEY_FILE={key}")
    print(f"  password (legacy): SALESFORCE_PASSWORD={credentials.password} "
          f"SALESFORCE_SECURITY_TOKEN={credentials.security_token}")
    print("  the owned fields are not deployed yet: run `icp setup` against it first")
    return sandbox
