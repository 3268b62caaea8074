"""Contract: owned values a person changed or cleared in the CRM are restored, once."""

from __future__ import annotations

from datetime import timedelta

from tests.contract.harness import WORLD_NOW, CrmHarness, approve_starter
from worker.context import Context
from worker.operate.cycle import run_cycle


def test_cleared_and_changed_owned_values_are_restored(ctx: Context, crm: CrmHarness) -> None:
    """A cleared score, a cleared tier and an edited tier come back; the next run writes nothing."""
    owned = ctx.mapping.owned
    assert owned is not None
    approve_starter(ctx)
    crm.set_clock(WORLD_NOW + timedelta(hours=2))
    run_cycle(ctx, crm.connector)
    first, second, third = crm.account_ids()[:3]
    written = {a: crm.account_values(a) for a in (first, second, third)}
    edited = WORLD_NOW + timedelta(hours=3)
    crm.edit_values(first, {owned.score: None}, edited)
    crm.edit_values(second, {owned.tier: None, owned.reasons: None}, edited)
    crm.edit_values(third, {owned.tier: "Z"}, edited)
    assert crm.account_values(first)[owned.score] in (None, "")
    crm.set_clock(WORLD_NOW + timedelta(hours=4))
    again = run_cycle(ctx, crm.connector)
    assert again.written == 3
    for account, values in written.items():
        now = crm.account_values(account)
        assert [now[f] for f in (owned.score, owned.tier, owned.reasons)] == [
            values[f] for f in (owned.score, owned.tier, owned.reasons)]
    crm.set_clock(WORLD_NOW + timedelta(hours=5))
    assert run_cycle(ctx, crm.connector).written == 0
