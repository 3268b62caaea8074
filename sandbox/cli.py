"""Foreground serving for `icp sandbox serve`."""

from __future__ import annotations

import threading

from sandbox import start_hubspot_sandbox

__all__ = ["serve", "CRMS"]

CRMS = ("hubspot",)


def serve(crm: str = "hubspot", port: int = 8765, seed: int = 7, accounts: int = 2000,
          token: str | None = None) -> None:
    """Serve a sandbox CRM until Ctrl-C, printing its URL."""
    if crm not in CRMS:
        raise ValueError(f"Unknown CRM {crm!r}; choose one of {', '.join(CRMS)}")
    sandbox = start_hubspot_sandbox(seed=seed, accounts=accounts, token=token, port=port)
    world = sandbox.world
    print(f"HubSpot sandbox listening on {sandbox.url}")
    print(f"  seed={seed} companies={len(world.accounts)} deals={len(world.deals)} notes={len(world.notes)}")
    print(f"  token: {'any bearer token' if token is None else 'the one given with --token'}")
    print("Press Ctrl-C to stop.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
        print("Sandbox stopped.")
