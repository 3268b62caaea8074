"""Synthetic CRM data with a planted truth, for tests and the benchmark.

Planted structure (log-odds effects on winning):

* **drivers**: industry (software +0.9, financial services +0.6, retail -0.5), employees
  (200-1,999: +0.8; under 50: -0.6), uses a data warehouse (+0.8);
* **wins but churns**: annual revenue in the top sixth closes more often (+0.5) but ~60% of
  those customers churn or contract;
* **anti-persona**: seed-stage companies win less (-0.5) and ~55% of them churn;
* **noise**: web visits, region, has a blog, a random index: no effect at all;
* **anecdotes**: ``partner_referral`` is set on three deals, all won; three aerospace deals, all won;
* **buying trigger**: referral leads win more (+0.6) and close faster; a demo helps (+0.4);
* **segments**: financial-services deals are about 2.5 times larger, and deals grow with company size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from worker.ingest.records import AccountRecord, DealRecord, EvidenceNote, Outcome

INDUSTRIES = (
    "COMPUTER_SOFTWARE",
    "FINANCIAL_SERVICES",
    "RETAIL",
    "MANUFACTURING",
    "HEALTHCARE",
    "EDUCATION",
    "LOGISTICS",
)
INDUSTRY_SHARES = (0.2, 0.15, 0.15, 0.15, 0.15, 0.1, 0.1)
INDUSTRY_EFFECT = {"COMPUTER_SOFTWARE": 0.9, "FINANCIAL_SERVICES": 0.6, "RETAIL": -0.5}
STAGES = ("seed", "series_a", "series_b", "growth", "public")
STAGE_SHARES = (0.15, 0.2, 0.2, 0.2, 0.25)
SOURCES = ("referral", "inbound", "outbound", "paid_ads")
SOURCE_SHARES = (0.15, 0.35, 0.3, 0.2)
SOURCE_EFFECT = {"referral": 0.6, "inbound": 0.15, "outbound": -0.15, "paid_ads": -0.35}
REGIONS = ("na", "emea", "apac", "latam")
LOSS_REASONS = ("Lost to competitor", "No decision", "Budget", "Timing", "Other", None)
LOSS_SHARES = (0.3, 0.25, 0.12, 0.08, 0.1, 0.15)
COMPETITORS = ("Acme", "Globex", "Initech")
DAY = 86_400


@dataclass(frozen=True)
class PlantedTruth:
    """What the generator planted, for tests to check against."""

    drivers: tuple[str, ...] = ("industry", "employees", "uses_data_warehouse")
    churning: str = "annual_revenue"
    churning_min_revenue: float = 0.0
    anti_persona: tuple[str, str] = ("funding_stage", "seed")
    noise: tuple[str, ...] = ("web_visits_30d", "region", "has_blog", "noise_index")
    anecdote_attribute: str = "partner_referral"
    anecdote_value: tuple[str, str] = ("industry", "aerospace")
    trigger: str = "lead_source"


@dataclass(frozen=True)
class SyntheticCRM:
    """Generated records and the truth planted in them."""

    accounts: list[AccountRecord]
    deals: list[DealRecord]
    notes: list[EvidenceNote]
    now: datetime
    truth: PlantedTruth


def _attributes(rng: np.random.Generator, n: int) -> dict[str, npt.NDArray[Any]]:
    employees = np.maximum(1, np.round(np.exp(rng.normal(5.3, 1.4, n)))).astype(np.int64)
    revenue = np.round(np.exp(rng.normal(np.log(30e6), 1.4, n)), -3)
    return {
        "industry": rng.choice(INDUSTRIES, n, p=INDUSTRY_SHARES),
        "employees": employees,
        "annual_revenue": revenue,
        "uses_data_warehouse": rng.random(n) < 0.4,
        "funding_stage": rng.choice(STAGES, n, p=STAGE_SHARES),
        "web_visits_30d": rng.poisson(np.exp(rng.normal(2.5, 1.0, n))),
        "region": rng.choice(REGIONS, n),
        "has_blog": rng.random(n) < 0.5,
        "noise_index": np.round(rng.normal(50, 15, n), 1),
    }


def _win_logit(
    a: dict[str, npt.NDArray[Any]],
    high_revenue: npt.NDArray[np.bool_],
    source: npt.NDArray[np.str_],
    demo: npt.NDArray[np.bool_],
) -> npt.NDArray[np.float64]:
    industry = np.vectorize(lambda v: INDUSTRY_EFFECT.get(v, 0.0), otypes=[float])(a["industry"])
    employees = np.asarray(a["employees"])
    size = np.where((employees >= 200) & (employees < 2000), 0.8, np.where(employees < 50, -0.6, 0.0))
    warehouse = np.where(a["uses_data_warehouse"], 0.8, 0.0)
    seed = np.where(a["funding_stage"] == "seed", -0.5, 0.0)
    trigger = np.vectorize(lambda v: SOURCE_EFFECT[v], otypes=[float])(source) + np.where(demo, 0.4, 0.0)
    return -1.35 + industry + size + warehouse + seed + np.where(high_revenue, 0.5, 0.0) + trigger


def _health(
    rng: np.random.Generator, n: int, high_revenue: npt.NDArray[np.bool_], seed: npt.NDArray[np.bool_]
) -> list[dict[str, object]]:
    churn_p = np.clip(0.08 + 0.52 * high_revenue + 0.47 * seed, 0, 0.9)
    status = np.where(rng.random(n) < churn_p, np.where(rng.random(n) < 0.8, "churned", "contracted"), "active")
    fit = rng.choice(("good", "fair", "poor"), n, p=(0.55, 0.35, 0.10))
    nps = np.clip(np.round(rng.normal(7.6, 1.6, n) - 2.5 * (status != "active")), 0, 10)
    tickets = rng.poisson(4 + 4 * high_revenue)
    ttv = np.round(np.exp(rng.normal(3.6, 0.5, n)))
    margin = np.round(rng.normal(62, 8, n), 1)
    known = rng.random(n) < 0.9
    rows: list[dict[str, object]] = []
    for i in range(n):
        if not known[i]:
            rows.append({})
            continue
        rows.append(
            {
                "retention_status": str(status[i]),
                "delivery_fit": str(fit[i]),
                "nps": float(nps[i]),
                "support_tickets": int(tickets[i]),
                "time_to_value_days": float(ttv[i]),
                "gross_margin_pct": float(margin[i]),
            }
        )
    return rows


def _account_attributes(a: dict[str, npt.NDArray[Any]], i: int) -> dict[str, object]:
    return {k: (v[i].item() if hasattr(v[i], "item") else v[i]) for k, v in a.items()}


def generate(
    n_deals: int = 2000,
    seed: int = 0,
    shuffle_outcomes: bool = False,
    open_share: float = 0.2,
    now: datetime | None = None,
) -> SyntheticCRM:
    """Generate accounts, closed deals (one per account), open deals and notes with the planted truth.

    Args:
        n_deals: Closed deals (won or lost) in the last 17 months.
        seed: Random seed.
        shuffle_outcomes: Permute outcomes and health across accounts, destroying every signal.
        open_share: Extra accounts with one open deal each, as a share of ``n_deals``.
        now: Reference time (default 2025-06-30 UTC).
    """
    rng = np.random.default_rng(seed)
    now = now or datetime(2025, 6, 30, tzinfo=UTC)
    n_open = int(n_deals * open_share)
    n = n_deals + n_open
    a = _attributes(rng, n)
    revenue_cut = float(np.quantile(a["annual_revenue"][:n_deals], 5 / 6))
    high_revenue = a["annual_revenue"] >= revenue_cut
    seed_stage = a["funding_stage"] == "seed"
    source = rng.choice(SOURCES, n, p=SOURCE_SHARES)
    demo = rng.random(n) < 0.45
    won = rng.random(n) < 1 / (1 + np.exp(-_win_logit(a, high_revenue, source, demo)))
    health = _health(rng, n, high_revenue, seed_stage)
    if shuffle_outcomes:
        order = rng.permutation(n_deals)
        won[:n_deals] = won[:n_deals][order]
        health[:n_deals] = [health[i] for i in order]
    anecdotes = rng.choice(n_deals, 6, replace=False)
    won[anecdotes] = True
    a["industry"][anecdotes[3:]] = "AEROSPACE"
    cycle = np.round(np.exp(rng.normal(4.0, 0.5, n) - 0.35 * (source == "referral")))
    closed_offset = rng.uniform(1, 17 * 30.4, n)
    financial = np.where(a["industry"] == "FINANCIAL_SERVICES", 2.5, 1.0)
    amount = np.round(
        np.exp(rng.normal(np.log(12_000), 0.5, n))
        * financial
        * (a["annual_revenue"] / 3e7) ** 0.1
        * (a["employees"] / 200) ** 0.1,
        -2,
    )
    accounts, deals, notes = [], [], []
    for i in range(n):
        account_id, deal_id = f"A{i:06d}", f"D{i:06d}"
        attributes = _account_attributes(a, i)
        if i in anecdotes[:3]:
            attributes["partner_referral"] = "yes"
        is_open = i >= n_deals
        closed = now - timedelta(days=float(closed_offset[i]))
        outcome: Outcome = "open" if is_open else ("won" if won[i] else "lost")
        accounts.append(
            AccountRecord(
                id=account_id,
                name=f"Company {i}",
                owner_id=f"U{i % 7}",
                attributes=attributes,
                health=health[i] if outcome == "won" else {},
            )
        )
        reason = None if outcome != "lost" else LOSS_REASONS[int(rng.choice(len(LOSS_REASONS), p=LOSS_SHARES))]
        deals.append(
            DealRecord(
                id=deal_id,
                account_id=account_id,
                outcome=outcome,
                amount=float(amount[i]),
                created_at=closed - timedelta(days=float(cycle[i])),
                closed_at=None if is_open else closed,
                loss_reason=reason,
                competitor=str(rng.choice(COMPETITORS)) if reason == "Lost to competitor" else None,
                lead_source=str(source[i]),
                attributes={"had_demo": bool(demo[i])},
            )
        )
        if not is_open and i % 40 == 0:
            notes.append(_note(i, outcome, health[i], closed))
    truth = PlantedTruth(churning_min_revenue=revenue_cut)
    return SyntheticCRM(accounts, deals, notes, now, truth)


def _note(i: int, outcome: str, health: dict[str, object], when: datetime) -> EvidenceNote:
    if outcome == "won" and health.get("retention_status") in ("churned", "contracted"):
        kind, text = "churn", "Onboarding took far longer than promised and the team never adopted it."
    elif outcome == "won":
        kind, text = "win", "We picked them because the warehouse integration worked on day one."
    else:
        kind, text = "loss", "The other vendor was cheaper and our budget was cut this quarter."
    return EvidenceNote(
        id=f"N{i:06d}",
        text=text,
        account_id=f"A{i:06d}",
        deal_id=f"D{i:06d}",
        kind=kind,
        author="cs@example.com",
        created_at=when,
    )
