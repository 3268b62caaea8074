"""Fixtures of the connector contract suite: one harness per CRM, on every store backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.contract.harness import HARNESSES, CrmHarness, make_context
from worker.context import Context


@pytest.fixture(params=sorted(HARNESSES))
def crm(request: pytest.FixtureRequest) -> Iterator[CrmHarness]:
    """A sandbox CRM of each kind with a connector pointed at it."""
    with HARNESSES[request.param]() as harness:
        yield harness


@pytest.fixture
def ctx(engine: Engine, crm: CrmHarness) -> Context:
    """A connection context for the harness's CRM, owned fields created."""
    context = make_context(engine, crm.crm)
    owned = context.mapping.owned
    assert owned is not None
    crm.connector.setup_fields(context.mapping.setup_specs())
    return context
