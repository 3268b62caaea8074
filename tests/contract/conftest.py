"""Fixtures of the connector contract suite: one harness per CRM, on every store backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.contract.harness import HARNESSES, CrmHarness, ready_context
from worker.context import Context


@pytest.fixture(params=sorted(HARNESSES))
def crm(request: pytest.FixtureRequest) -> Iterator[CrmHarness]:
    """A sandbox CRM of each kind with a connector pointed at it."""
    with HARNESSES[request.param]() as harness:
        yield harness


@pytest.fixture
def ctx(engine: Engine, crm: CrmHarness) -> Context:
    """A connection context for the harness's CRM, owned fields created."""
    return ready_context(engine, crm.connector, crm.crm)
