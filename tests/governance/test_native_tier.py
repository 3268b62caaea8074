"""Mirroring the tier into HubSpot's own ICP tier property: off by default, never over a person's value."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from tests.contract.harness import WORLD_NOW, HubSpotHarness, approve_starter, hubspot_harness, make_context
from worker.context import Context
from worker.operate.cycle import run_cycle
from worker.settings import WritebackOptions

NATIVE = "hs_ideal_customer_profile"


@pytest.fixture
def hs() -> Iterator[HubSpotHarness]:
    with hubspot_harness(accounts=150) as harness:
        yield harness


def context(engine: Engine, hs: HubSpotHarness, mirror: bool) -> Context:
    ctx = make_context(engine)
    ctx = Context(ctx.settings, ctx.name, ctx.config.model_copy(
        update={"writeback": WritebackOptions(mirror_native_tier=mirror)}), ctx.engine)
    hs.connector.setup_fields(ctx.mapping.setup_specs())
    approve_starter(ctx)
    return ctx


def test_off_by_default(engine: Engine, hs: HubSpotHarness) -> None:
    """Without the option the native property is never written."""
    run_cycle(context(engine, hs, mirror=False), hs.connector)
    assert all(hs.server.companies.value(i, NATIVE) is None for i in hs.account_ids())


def test_mirrors_tiers_but_keeps_a_persons_value(engine: Engine, hs: HubSpotHarness) -> None:
    """A-C map to tier_1-3, D stays empty, and a value a person set is kept and reported."""
    person_set = hs.account_ids()[0]
    hs.server.update_company(person_set, {NATIVE: "tier_2"})
    ctx = context(engine, hs, mirror=True)
    first = run_cycle(ctx, hs.connector)
    assert first.native_tier_kept == 1
    expected = {"A": "tier_1", "B": "tier_2", "C": "tier_3", "D": None}
    for account in hs.account_ids()[1:]:
        tier = hs.server.companies.value(account, "icp_fit_tier")
        assert hs.server.companies.value(account, NATIVE) == expected[tier]
    assert hs.server.companies.value(person_set, NATIVE) == "tier_2"
    second = run_cycle(ctx, hs.connector)
    assert second.written == 0 and hs.server.companies.value(person_set, NATIVE) == "tier_2"
    mine = next(a for a in hs.account_ids()[1:] if hs.server.companies.value(a, NATIVE) == "tier_1")
    hs.set_clock(WORLD_NOW + timedelta(hours=5))
    hs.server.update_company(mine, {NATIVE: "tier_3"})
    third = run_cycle(ctx, hs.connector)
    assert third.native_tier_kept == 2 and hs.server.companies.value(mine, NATIVE) == "tier_3"
