"""Fixtures of the Salesforce tests: a sandbox org over TLS and the real simple-salesforce, on every store backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.contract.harness import SalesforceHarness, make_context, salesforce_harness
from worker.context import Context

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "salesforce"
QUERY = "GET /services/data/v{version}/query"
LIMITS = "GET /services/data/v{version}/limits"
TOKEN = "POST /services/oauth2/token"
JOBS = "POST /services/data/v{version}/jobs/ingest"


@pytest.fixture
def sf_options() -> dict[str, Any]:
    """Connector settings overrides for the ``sf`` fixture."""
    return {}


@pytest.fixture
def sf(sf_options: dict[str, Any]) -> Iterator[SalesforceHarness]:
    """A 250-account sandbox org and a connector (client credentials) pointed at it."""
    with salesforce_harness(accounts=250, **sf_options) as harness:
        yield harness


@pytest.fixture
def ctx(engine: Engine, sf: SalesforceHarness) -> Context:
    """A Salesforce connection whose org has the deploy/salesforce package deployed and assigned."""
    sf.server.deploy(DEPLOY)
    return make_context(engine, "salesforce")
