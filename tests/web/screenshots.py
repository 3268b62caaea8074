"""Screenshots of the review pages for the README, at 1280 px wide, in headless Chromium.

Regenerate them with ``.venv/bin/python -m tests.web.screenshots docs``. The store is generated: a
planted-truth portal (worker.refine.synthetic), the starter scorecard in force, and a real refinement's
proposal that sales has signed and delivery has not.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from selenium.webdriver.common.by import By

from tests.web.browser import chromium, free_port, serving, sign_in
from tests.web.world import CRO, CS, FAST_HASHER, PASSWORD, Clock, add_people, settings_for
from worker.govern.approval import approve_version
from worker.govern.proposals import run_refinement, store_proposal
from worker.refine.synthetic import generate
from worker.score.scorecard import load_scorecard
from worker.score.signoff import CLI, WEB, Actor
from worker.settings import DEFAULT_CONFIG
from worker.store import Account, Deal, EvidenceNoteRow, MeasurementEvent, Owner, session_scope, upsert
from worker.web.app import build_services, create_app

WIDTH, HEIGHT = 1280, 900


def _store(context: object, clock: Clock) -> None:
    from worker.context import Context

    assert isinstance(context, Context)
    crm = generate(1500, seed=3, now=clock())
    with session_scope(context.engine) as db:
        upsert(db, Owner, [{"connection": "main", "id": f"U{i}", "email": f"rep{i}@example.com",
                            "name": name, "active": True, "raw": {}} for i, name in enumerate(
            ["Ana Ruiz", "Ben Okafor", "Chloe Martin", "Dev Patel", "Elif Kaya", "Femi Adeyemi", "Greta Lind"])])
        upsert(db, Account, [{"connection": "main", "id": a.id, "name": a.name or f"Company {a.id}",
                              "owner_id": a.owner_id, "attributes": a.attributes, "health": a.health,
                              "owned_values": {}, "raw": {}, "deleted": False} for a in crm.accounts])
        upsert(db, Deal, [{"connection": "main", "id": d.id, "account_id": d.account_id, "outcome": d.outcome,
                           "owner_id": d.owner_id, "amount": d.amount, "created_at": d.created_at,
                           "closed_at": d.closed_at, "loss_reason": d.loss_reason, "competitor": d.competitor,
                           "lead_source": d.lead_source, "attributes": d.attributes, "raw": {}, "deleted": False}
                          for d in crm.deals])
        upsert(db, EvidenceNoteRow, [{"connection": "main", "id": n.id, "account_id": n.account_id,
                                      "deal_id": n.deal_id, "kind": n.kind, "author": n.author,
                                      "created_at": n.created_at, "text": n.text, "source": "crm"}
                                     for n in crm.notes])
        for day in range(12):
            at = clock() - timedelta(days=7 * (12 - day))
            db.add(MeasurementEvent(connection="main", run_id=f"r{day}", at=at, version=1, figures={
                "tiers": ["A", "B", "C", "D"], "by_tier": {t: {
                    "accounts": 200 + 60 * k + day, "open_deals": 30 + k * 5, "closed": 20 + day,
                    "close_rate": 0.42 - 0.09 * k + 0.004 * day, "median_cycle_days": 32 + 11 * k,
                    "churn_rate": 0.04 + 0.03 * k} for k, t in enumerate("ABCD")}}))
    starter = load_scorecard(DEFAULT_CONFIG / "starter-scorecard.yaml")
    v1 = store_proposal(context, starter, by=Actor("revops@example.com", CLI, "revops"), now=clock() - timedelta(
        days=120), evidence={"source": "hand-written"}, note="starter hypothesis")
    for who in (CRO, CS):
        approve_version(context.versions, v1.version, by=Actor(who, CLI, "revops"), now=clock() - timedelta(days=119),
                        note="start with the hypothesis", accept_risks=True)
    outcome = run_refinement(context, now=clock())
    assert outcome.version is not None, outcome.analysis.headline
    approve_version(context.versions, outcome.version.version, by=Actor(CRO, WEB), now=clock(),
                    note="Matches what the team sees in the pipeline.", accept_risks=True)


def main(folder: str) -> int:
    """Write home.png, proposal.png and history.png into ``folder``."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="icp-screens-") as work:
        port = free_port()
        clock = Clock(datetime.now(UTC).replace(microsecond=0))
        settings = settings_for(Path(work), f"http://127.0.0.1:{port}").model_copy(
            update={"database_url": f"sqlite:///{Path(work) / 'store.db'}"})
        services = build_services(settings, clock=clock, hasher=FAST_HASHER)
        context = services.contexts["main"]
        _store(context, clock)
        add_people(services.engine, clock)
        pending = context.versions.pending()[0].version
        with serving(create_app(services), port) as url, chromium(WIDTH, HEIGHT) as driver:
            driver.get(f"{url}/signin")
            sign_in(driver, CS, PASSWORD)
            for name, path in (("home", "/connections/main"), ("proposal", f"/connections/main/versions/{pending}"),
                               ("history", "/connections/main/history")):
                driver.get(url + path)
                driver.find_element(By.TAG_NAME, "main")
                driver.save_screenshot(str(target / f"{name}.png"))
                print(f"wrote {target / f'{name}.png'}")
        services.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "docs"))
