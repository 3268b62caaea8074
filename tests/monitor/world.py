"""Stores for the monitor tests: planted-truth accounts and deals, an evidence version, planted shifts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy import Engine

from tests.refine.planted import planted_analysis, planted_crm
from worker.govern.approval import approve_version
from worker.ingest.records import AccountRecord, DealRecord
from worker.monitor import baseline_snapshot, measure_store, monitor_store
from worker.refine.synthetic import SyntheticCRM, generate
from worker.score.scorecard import Scorecard, Scorer, parse_scorecard
from worker.score.versions import VersionInfo, Versions
from worker.store import Account, Deal, MeasurementEvent, Run, session_scope

CONNECTION = "main"
APPROVED_AT = datetime(2025, 7, 1, tzinfo=UTC)
NOW = APPROVED_AT + timedelta(days=30)
DealShift = Callable[[list[DealRecord], dict[str, str]], list[DealRecord]]


def _columns(accounts: Sequence[AccountRecord], card: Scorecard) -> dict[str, np.ndarray]:
    return {a: np.array([r.attributes.get(a) for r in accounts], dtype=object) for a in card.attributes}


@lru_cache(maxsize=2)
def evidence_version(with_snapshot: bool = True) -> VersionInfo:
    """The planted refinement's proposed card, approved at ``APPROVED_AT`` with its evidence."""
    analysis = planted_analysis()
    assert analysis.proposed is not None
    card = analysis.proposed
    evidence: dict[str, Any] = analysis.to_json()
    if with_snapshot:
        population = planted_crm().accounts
        result = Scorer(card).score(_columns(population, card), n=len(population))
        evidence["baseline"] = baseline_snapshot(result, at=APPROVED_AT)
    return VersionInfo(2, "approved", card.name, "evidence", card, evidence, APPROVED_AT - timedelta(days=3),
                       "refine", "ceo@example.com", APPROVED_AT, None, APPROVED_AT)


def hypothesis_version(card: Scorecard, effective_at: datetime = APPROVED_AT) -> VersionInfo:
    """A hand-written version without evidence, in force since ``effective_at``."""
    return VersionInfo(1, "approved", card.name, "hypothesis", card, {}, effective_at, "revops", "ceo@example.com",
                       effective_at, None, effective_at)


def small_card() -> Scorecard:
    """Two criteria and one exclusion: enough to place accounts in tiers A-D."""
    return parse_scorecard({
        "name": "Small", "kind": "hypothesis",
        "criteria": [
            {"id": "industry", "attribute": "industry", "bins": [
                {"values": ["software"], "points": 50, "label": "industry software"},
                {"other": True, "points": 10, "label": "industry other"}],
             "missing": {"points": 0, "label": "industry unknown"}},
            {"id": "employees", "attribute": "employees", "bins": [
                {"range": [None, 50], "points": 0, "label": "employees under 50"},
                {"range": [50, None], "points": 40, "label": "employees 50 and more"}]}],
        "exclusions": [{"id": "seed", "label": "seed stage", "when": {"attribute": "stage", "values": ["seed"]},
                        "effect": {"points": -30}}],
        "bands": [{"tier": "A", "min": 80}, {"tier": "B", "min": 60}, {"tier": "C", "min": 40},
                  {"tier": "D", "min": 0}],
    })


def month_of_deals(seed: int, n_deals: int = 1500) -> SyntheticCRM:
    """A fresh draw of the planted process, closed in the 30 days after approval, ids kept apart."""
    crm = generate(n_deals, seed=seed, open_share=0.1, now=NOW)
    rng = np.random.default_rng(seed)
    accounts = [replace(a, id=f"M{seed}-{a.id}") for a in crm.accounts]
    deals = []
    for d in crm.deals:
        closed = APPROVED_AT + timedelta(days=float(rng.uniform(0.5, 29.5)))
        created = closed - (d.closed_at - d.created_at) if d.closed_at and d.created_at else None
        deals.append(replace(d, id=f"M{seed}-{d.id}", account_id=f"M{seed}-{d.account_id}",
                             closed_at=closed if d.outcome != "open" else None, created_at=created))
    return replace(crm, accounts=accounts, deals=deals)


def tiers_of(accounts: Sequence[AccountRecord], card: Scorecard) -> dict[str, str]:
    """Account id to tier under ``card``."""
    tiers = Scorer(card).score(_columns(accounts, card), n=len(accounts)).tiers.astype(str)
    return dict(zip((a.id for a in accounts), tiers.tolist(), strict=True))


def top_tier_loses(share_kept: float, seed: int = 0) -> DealShift:
    """A planted shift: of the top tier's wins only ``share_kept`` stay won."""
    def shift(deals: list[DealRecord], tier_of: dict[str, str]) -> list[DealRecord]:
        rng = np.random.default_rng(seed)
        return [replace(d, outcome="lost") if d.outcome == "won" and tier_of.get(d.account_id or "") == "A"
                and rng.random() > share_kept else d for d in deals]
    return shift


def store_records(engine: Engine, accounts: Sequence[AccountRecord], deals: Sequence[DealRecord],
                  connection: str = CONNECTION) -> None:
    """Insert accounts and deals into the store."""
    with session_scope(engine) as session:
        session.add_all([Account(connection=connection, id=a.id, name=a.name, owner_id=a.owner_id,
                                 attributes=a.attributes, health=a.health) for a in accounts])
        session.add_all([Deal(connection=connection, id=d.id, account_id=d.account_id, owner_id=d.owner_id,
                              outcome=d.outcome, amount=d.amount, created_at=d.created_at, closed_at=d.closed_at,
                              loss_reason=d.loss_reason) for d in deals])


def approve_evidence_version(engine: Engine, connection: str = CONNECTION) -> VersionInfo:
    """Store the planted evidence version and approve it at ``APPROVED_AT``.

    The approval accepts whatever risks the analysis lists: these tests measure and report on a version in
    force, whatever its quality; the gate itself is tested with the approval flow.
    """
    planned = evidence_version()
    versions = Versions(engine, connection, ["ceo@example.com"])
    created = versions.create(planned.scorecard, by="refine", now=APPROVED_AT - timedelta(days=3),
                              evidence=planned.evidence)
    return approve_version(versions, created.version, by="ceo@example.com", now=APPROVED_AT, accept_risks=True,
                           note="approved for the measurement tests")


def record_nights(engine: Engine, version: VersionInfo, nights: int, connection: str = CONNECTION) -> None:
    """Record one cycle run per night up to ``NOW``, each with its drift report and measurement event."""
    for k in range(nights):
        at = NOW - timedelta(days=nights - 1 - k)
        drift = monitor_store(engine, connection, version, at)
        counts = {"pulled": {"accounts": 10}, "scored": 100, "written": k, "quarantined": {}, "tasks": 0}
        figures = measure_store(engine, connection, version, counts, at)
        run_id = f"night{k}"
        with session_scope(engine) as session:
            session.add(Run(id=run_id, connection=connection, kind="cycle", status="ok", started_at=at,
                            finished_at=at + timedelta(seconds=30),
                            summary={"duration_seconds": 30.0, "written": k, "version": version.label,
                                     "drift": drift.to_json()}))
            session.add(MeasurementEvent(connection=connection, run_id=run_id, at=at, version=version.version,
                                         figures=figures))
