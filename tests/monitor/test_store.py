"""The monitor and the measurement against a store, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from tests.monitor.world import (
    APPROVED_AT,
    CONNECTION,
    NOW,
    evidence_version,
    hypothesis_version,
    month_of_deals,
    small_card,
    store_records,
    tiers_of,
    top_tier_loses,
)
from worker.ingest.records import AccountRecord, DealRecord
from worker.monitor import measure_store, monitor_store, snapshot_store
from worker.monitor.baseline import SNAPSHOT
from worker.store import Deal, session_scope

MEASURED_AT = datetime(2025, 7, 31, tzinfo=UTC)


def _day(month: int, day: int, year: int = 2025) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def _planted_store(engine: Engine, seed: int, shifted: bool) -> None:
    month = month_of_deals(seed)
    deals = month.deals
    if shifted:
        deals = top_tier_loses(0.25, seed)(deals, tiers_of(month.accounts, evidence_version().scorecard))
    before = [DealRecord(id=f"old{i}", account_id=month.accounts[i].id, outcome="lost",
                         closed_at=APPROVED_AT - timedelta(days=2)) for i in range(40)]
    store_records(engine, month.accounts, [*deals, *before])


def test_clean_month_raises_no_alarm(engine: Engine) -> None:
    """A month drawn from the process the evidence came from: no alarm; only deals since approval count."""
    _planted_store(engine, seed=11, shifted=False)
    report = monitor_store(engine, CONNECTION, evidence_version(), NOW)
    assert not report.alarm and not report.stale, report.reasons
    assert report.closed_deals == 1500 and report.score is not None
    assert report.score.baseline_source == SNAPSHOT and report.score.reading == "no significant change"
    assert {c.id for c in report.criteria} == {c.id for c in evidence_version().scorecard.criteria}
    assert all(o.win.p_value is not None and o.win.expected_rate is not None for o in report.tiers)
    json.dumps(report.to_json())


def test_planted_shift_raises_the_alarm(engine: Engine) -> None:
    """Three in four top-tier wins turned to losses: the alarm, with tier A's shortfall as the reason."""
    _planted_store(engine, seed=14, shifted=True)
    report = monitor_store(engine, CONNECTION, evidence_version(), NOW)
    assert report.alarm and report.needs_review
    assert report.tiers[0].win.significant and report.tiers[0].win.difference < -0.3  # type: ignore[operator]
    assert any(r.startswith("Tier A won") for r in report.reasons)


def _small_store(engine: Engine) -> None:
    attributes = {"a1": ("software", 100, "series_a"), "a2": ("software", 100, "seed"), "a3": ("retail", 100, None),
                  "a4": ("retail", 10, None), "a5": ("software", 10, None), "a6": ("retail", None, "seed")}
    health = {"a1": {"retention_status": "active", "delivery_fit": "good"},
              "a4": {"retention_status": "churned", "delivery_fit": "poor"}}
    accounts = [AccountRecord(id=k, attributes={"industry": i, "employees": e, "stage": s}, health=health.get(k, {}))
                for k, (i, e, s) in attributes.items()]
    deals = [
        DealRecord(id="d1", account_id="a1", outcome="won", amount=1000, created_at=_day(6, 1), closed_at=_day(7, 1)),
        DealRecord(id="d2", account_id="a1", outcome="lost", closed_at=_day(7, 10)),
        DealRecord(id="d3", account_id="a1", outcome="won", amount=3000, created_at=_day(6, 21),
                   closed_at=_day(7, 11)),
        DealRecord(id="d4", account_id="a4", outcome="won", amount=500, created_at=_day(7, 1), closed_at=_day(7, 21)),
        DealRecord(id="d5", account_id="a3", outcome="lost", closed_at=_day(7, 20)),
        DealRecord(id="d6", account_id="a3", outcome="won", closed_at=_day(1, 1, 2024)),
        DealRecord(id="d7", account_id="a5", outcome="open"),
        DealRecord(id="d8", account_id="a2", outcome="won", amount=9999, closed_at=_day(7, 15)),
    ]
    store_records(engine, accounts, deals)
    with session_scope(engine) as session:
        deleted = session.get(Deal, (CONNECTION, "d8"))
        assert deleted is not None
        deleted.deleted = True
        session.add(deleted)


def test_measure_store_by_tier(engine: Engine) -> None:
    """Accounts, close rate, cycle, value, churn, delivery fit and disqualification reasons per tier."""
    _small_store(engine)
    counts = {"pulled": {"accounts": 6}, "scored": 6, "written": 2, "skipped": 0, "quarantined": {}, "tasks": 1}
    figures = measure_store(engine, CONNECTION, hypothesis_version(small_card()), counts, MEASURED_AT)
    json.dumps(figures)
    assert figures["counts"] == counts and figures["tiers"] == ["A", "B", "C", "D"] and figures["version"] == 1
    by_tier = figures["by_tier"]
    assert {t: f["accounts"] for t, f in by_tier.items()} == {"A": 1, "B": 1, "C": 2, "D": 2}
    a = by_tier["A"]
    assert (a["closed"], a["won"], a["close_rate"]) == (3, 2, pytest.approx(2 / 3))
    assert a["close_rate_ci"][0] < 2 / 3 < a["close_rate_ci"][1]
    assert (a["median_cycle_days"], a["median_won_amount"], a["won_amount"]) == (25.0, 2000.0, 4000.0)
    assert (a["customers"], a["churn_rate"], a["delivery_fit"]["good"]) == (1, 0.0, 1)
    assert (by_tier["B"]["closed"], by_tier["B"]["close_rate"], by_tier["B"]["customers"]) == (0, None, 0)
    c = by_tier["C"]
    assert (c["closed"], c["won"], c["open_deals"], c["customers"], c["churn_rate"]) == (1, 0, 1, 1, None)
    assert c["delivery_fit"]["unknown"] == 1
    d = by_tier["D"]
    assert (d["close_rate"], d["churn_rate"], d["delivery_fit"]["poor"]) == (1.0, 1.0, 1)
    assert figures["overall"]["closed"] == 5 and figures["overall"]["close_rate"] == pytest.approx(0.6)
    assert figures["overall"]["customers"] == 3
    reasons = {r["reason"]: r["accounts"] for r in figures["disqualification"]["reasons"]}
    assert figures["disqualification"]["tier"] == "D"
    assert reasons == {"employees under 50": 1, "employees unknown": 1, "excluded: seed stage": 1}


def test_measure_store_without_a_version(engine: Engine) -> None:
    _small_store(engine)
    figures = measure_store(engine, CONNECTION, None, {"scored": 0}, MEASURED_AT)
    assert figures["by_tier"] == {} and figures["version"] is None and figures["notes"]
    assert figures["overall"]["closed"] == 5 and figures["overall"]["open_deals"] == 1


def test_hypothesis_version_on_a_small_store(engine: Engine) -> None:
    """Five deals: rates reported, nothing tested, no baseline; the stale flag follows the cadence."""
    _small_store(engine)
    report = monitor_store(engine, CONNECTION, hypothesis_version(small_card(), _day(6, 1)), MEASURED_AT)
    assert not report.alarm and not report.stale and report.closed_deals == 5
    assert any(n.startswith("Not enough closed deals yet") for n in report.notes)
    assert any(n.startswith("No baseline") for n in report.notes)
    old = monitor_store(engine, CONNECTION, hypothesis_version(small_card(), _day(1, 1)), MEASURED_AT)
    assert old.stale and old.needs_review and not old.alarm and old.closed_deals == 5


def test_snapshot_store_is_a_usable_baseline(engine: Engine) -> None:
    _small_store(engine)
    snapshot = snapshot_store(engine, CONNECTION, small_card(), MEASURED_AT)
    json.dumps(snapshot)
    assert snapshot["n"] == 6 and sum(snapshot["scores"]) == 6 and snapshot["tiers"] == {"A": 1, "B": 1, "C": 2, "D": 2}
    assert snapshot["criteria"]["industry"]["counts"] == [3, 3, 0]
    assert snapshot["criteria"]["employees"]["counts"] == [2, 3, 1]
    version = hypothesis_version(small_card(), _day(7, 1))
    with_baseline = type(version)(**{**version.__dict__, "evidence": {"baseline": snapshot}})
    report = monitor_store(engine, CONNECTION, with_baseline, MEASURED_AT)
    assert report.score is None and any("Score stability not measured: 6 accounts" in n for n in report.notes)
