"""One nightly cycle in a child process, against a sandbox portal, for the crash tests: ``python -m
tests.outbox.child_cycle STORE_URL PORTAL_URL``."""

from __future__ import annotations

import sys

from connectors.hubspot import HubSpotConnector, HubSpotSettings
from tests.contract.harness import make_context
from worker.operate.cycle import run_cycle
from worker.store import make_engine


def main(store_url: str, portal_url: str) -> None:
    """Run the cycle the parent test prepared the store and the portal for."""
    ctx = make_context(make_engine(store_url), "hubspot")
    connector = HubSpotConnector(HubSpotSettings(access_token="t0ken-sandbox", base_url=portal_url, per_10s=250,
                                                 search_per_second=5))
    run_cycle(ctx, connector)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
