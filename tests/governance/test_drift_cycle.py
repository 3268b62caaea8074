"""Drift in the nightly cycle: a clean month stays quiet; a planted shift alarms once, with a proposal."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select
from sqlmodel import Session

from tests.contract.harness import WORLD_NOW, approve_starter, hubspot_harness, ready_context
from worker.context import Context
from worker.operate.cycle import run_cycle
from worker.settings import ReviewOptions
from worker.store import Owner


def test_planted_shift_raises_one_alarm_and_a_proposal(engine: Engine) -> None:
    """Scores shift after most accounts change: one drift task for leadership, one refinement, not repeated."""
    with hubspot_harness(accounts=400) as hs:
        ctx = ready_context(engine, hs.connector)
        approve_starter(ctx)
        first = run_cycle(ctx, hs.connector)
        assert first.drift is not None and not first.drift["alarm"]
        with Session(engine) as session:
            leader = session.execute(select(Owner.email).order_by(Owner.id)).scalars().first()
        ctx = Context(ctx.settings, ctx.name, ctx.config.model_copy(
            update={"review": ReviewOptions(leadership_owner=leader)}), ctx.engine)
        clean = run_cycle(ctx, hs.connector)
        assert clean.drift is not None and not clean.drift["alarm"] and clean.tasks_created == 0
        hs.set_clock(WORLD_NOW + timedelta(days=2))
        for account in hs.account_ids()[:320]:
            hs.server.update_company(account, {"industry": "COMPUTER_SOFTWARE", "numberofemployees": "600",
                                               "uses_data_warehouse": "true"})
        shifted = run_cycle(ctx, hs.connector)
        assert shifted.drift is not None and shifted.drift["alarm"]
        assert any("PSI" in r or "psi" in r.lower() for r in shifted.drift["reasons"])
        assert shifted.drift["refinement"] and shifted.drift["task_created"]
        subjects = [hs.server.tasks.value(t, "hs_task_subject") or "" for t in hs.server.tasks.ids()]
        assert sum("ICP drift" in s for s in subjects) == 1
        versions_after_alarm = len(ctx.versions.list())
        again = run_cycle(ctx, hs.connector)
        assert again.drift is not None and again.drift["alarm"] and not again.drift.get("refinement")
        assert sum("ICP drift" in (hs.server.tasks.value(t, "hs_task_subject") or "")
                   for t in hs.server.tasks.ids()) == 1
        assert len(ctx.versions.list()) == versions_after_alarm
