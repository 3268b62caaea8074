"""Foreground serving for `icp sandbox serve`."""

from __future__ import annotations

import signal
import threading

from sandbox import start_hubspot_sandbox, start_salesforce_sandbox
from sandbox.hubspot import HubSpotSandbox
from sandbox.salesforce import SalesforceSandbox

__all__ = ["serve", "CRMS"]

CRMS = ("hubspot", "salesforce")


def serve(crm: str = "hubspot", port: int = 8765, seed: int = 7, accounts: int = 2000,
          token: str | None = None) -> None:
    """Serve a sandbox CRM until Ctrl-C, printing its URL."""
    if crm not in CRMS:
        raise ValueError(f"Unknown CRM {crm!r}; choose one of {', '.join(CRMS)}")
    if crm == "salesforce":
        sandbox: HubSpotSandbox | SalesforceSandbox = _serve_salesforce(port, seed, accounts)
    else:
        sandbox = start_hubspot_sandbox(seed=seed, accounts=accounts, token=token, port=port)
        world = sandbox.world
        print(f"HubSpot sandbox listening on {sandbox.url}")
        print(f"  seed={seed} companies={len(world.accounts)} deals={len(world.deals)} notes={len(world.notes)}")
        print(f"  token: {'any bearer token' if token is None else 'the one given with --token'}")
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
