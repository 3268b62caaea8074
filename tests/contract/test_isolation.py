"""Several connections share one store without any data crossing between them."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlmodel import Session

from tests.contract.harness import approve_starter, hubspot_harness, make_context
from worker.operate.cycle import run_cycle
from worker.store import Account, AccountScore


def test_two_portals_are_isolated_end_to_end(engine: Engine) -> None:
    """Two portals with overlapping record ids: each connection stores, scores and writes only its own."""
    with hubspot_harness(accounts=120, seed=1) as east, hubspot_harness(accounts=80, seed=2) as west:
        contexts = {"east": make_context(engine, name="east"), "west": make_context(engine, name="west")}
        for name, harness in (("east", east), ("west", west)):
            owned = contexts[name].mapping.owned
            assert owned is not None
            harness.connector.setup_fields(owned.specs())
        approve_starter(contexts["east"])
        assert set(east.account_ids()) & set(west.account_ids()), "the portals must share ids for this test"
        assert run_cycle(contexts["east"], east.connector).written == 120
        west_run = run_cycle(contexts["west"], west.connector)
        assert west_run.written == 0 and contexts["west"].versions.in_force() is None
        with Session(engine) as session:
            for name, harness in (("east", east), ("west", west)):
                names = dict(session.execute(select(Account.id, Account.name).where(
                    Account.connection == name)).all())
                assert names == {i: harness.server.companies.value(i, "name") for i in harness.account_ids()}
            scored = set(session.execute(select(AccountScore.connection)).scalars())
        assert scored == {"east"}
        assert all(west.server.companies.value(i, "icp_fit_score") is None for i in west.account_ids())
