"""The measurement event of a run: its counts, and the ICP's effect by tier.

By tier of the version in force: accounts (lead fit distribution) and open deals; deals closed in
the trailing window (close rate with its Wilson interval, median sales cycle of wins, median won
amount); customers, i.e. accounts with a won deal (churn rate, delivery-fit mix); and the commonest
reasons bottom-tier accounts score low (disqualification reasons). A figure without data is None.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine

from worker.monitor.accounts import DealRow, account_health, churned, load_deals
from worker.refine.stats import wilson_interval
from worker.score.scorecard import ScoreResult
from worker.score.scorecard.model import normalise_category
from worker.score.scorecard.scorer import MISSING
from worker.score.scoring import ScoredAccounts, score_accounts
from worker.score.versions import VersionInfo

WINDOW_DAYS = 90
TOP_REASONS = 5
DELIVERY_FITS = ("good", "fair", "poor")
UNSCORED = "unscored"


def _median(values: Sequence[float]) -> float | None:
    return float(np.median(values)) if values else None


def deal_figures(deals: Sequence[DealRow]) -> dict[str, Any]:
    """Close rate (with Wilson 95% interval), median sales cycle of wins, won amounts, of closed deals."""
    won = [d for d in deals if d.outcome == "won"]
    n, k = len(deals), len(won)
    low, high = wilson_interval(k, n)
    cycles = [(d.closed_at - d.created_at).total_seconds() / 86_400 for d in won if d.closed_at and d.created_at]
    amounts = [float(d.amount) for d in won if d.amount is not None]
    return {"closed": n, "won": k, "close_rate": k / n if n else None,
            "close_rate_ci": [float(low), float(high)] if n else None,
            "median_cycle_days": _median(cycles), "median_won_amount": _median(amounts),
            "won_amount": float(sum(amounts)) if amounts else None}


def customer_figures(health: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Churn rate and delivery-fit mix of customers (accounts with a won deal)."""
    flags = [churned(h) for h in health]
    known = [f for f in flags if f is not None]
    fits = Counter(normalise_category(h.get("delivery_fit")) for h in health)
    delivery = {f: fits.get(f, 0) for f in DELIVERY_FITS}
    delivery["unknown"] = len(health) - sum(delivery.values())
    return {"customers": len(health), "churn_known": len(known), "churned": sum(known),
            "churn_rate": sum(known) / len(known) if known else None, "delivery_fit": delivery}


def disqualification_reasons(result: ScoreResult, tier: str, top: int = TOP_REASONS) -> list[dict[str, Any]]:
    """The commonest low-scoring reasons among ``tier``'s accounts: exclusions, negative or lowest bins."""
    rows = np.flatnonzero(result.tiers.astype(str) == tier)
    counts: Counter[str] = Counter()
    card = result.scorecard
    for c, criterion in enumerate(card.criteria):
        points, index = result.points[rows, c], result.bin_index[rows, c]
        low = (points < 0) | ((points == criterion.min_points) & (criterion.min_points < criterion.max_points))
        for value, many in zip(*np.unique(index[low], return_counts=True), strict=True):
            label = criterion.missing_label if value == MISSING else criterion.bins[int(value)].label
            counts[label] += int(many)
    for e, exclusion in enumerate(card.exclusions):
        if hit := int(result.excluded[rows, e].sum()):
            counts[f"excluded: {exclusion.label}"] += hit
    return [{"reason": r, "accounts": n} for r, n in counts.most_common(top)]


def _grouped(deals: Sequence[DealRow], tier_of: Mapping[str, str]) -> dict[str, list[DealRow]]:
    groups: dict[str, list[DealRow]] = {}
    for d in deals:
        groups.setdefault(tier_of.get(d.account_id or "", UNSCORED), []).append(d)
    return groups


def tier_figures(tiers: Sequence[str], tier_counts: Mapping[str, int], tier_of: Mapping[str, str],
                 closed: Sequence[DealRow], open_deals: Sequence[DealRow],
                 customers: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every figure per tier (best first), from accounts' tiers, deals and customers' health."""
    total = sum(tier_counts.values())
    by_closed, by_open = _grouped(closed, tier_of), _grouped(open_deals, tier_of)
    by_customer: dict[str, list[Mapping[str, Any]]] = {}
    for account_id, health in customers.items():
        by_customer.setdefault(tier_of.get(account_id, UNSCORED), []).append(health)
    return {t: {"accounts": tier_counts.get(t, 0), "share": tier_counts.get(t, 0) / total if total else None,
                "open_deals": len(by_open.get(t, [])), **deal_figures(by_closed.get(t, [])),
                **customer_figures(by_customer.get(t, []))} for t in tiers}


def measure_store(engine: Engine, connection: str, version: VersionInfo | None, counts: Mapping[str, Any],
                  now: datetime, *, window_days: int = WINDOW_DAYS,
                  scored: ScoredAccounts | None = None) -> dict[str, Any]:
    """The figures of a run's measurement event (JSON-serialisable).

    Args:
        engine: The store.
        connection: The CRM connection.
        version: The version in force, or None (then only overall figures are measured).
        counts: The run's counts (pulled, scored, written, skipped, quarantined, tasks), kept as given.
        now: The run's time.
        window_days: Deals closed in this many days before ``now`` count for close rate, cycle and value.
        scored: Accounts already scored with ``version`` in this run, to avoid scoring twice.

    Returns:
        ``{"measured_at", "version", "window_days", "counts", "tiers", "overall", "by_tier",
        "disqualification", "notes"}``.
    """
    closed = load_deals(engine, connection, since=now - timedelta(days=window_days), until=now)
    open_deals = load_deals(engine, connection, outcomes=("open",))
    customer_ids = {d.account_id for d in load_deals(engine, connection, outcomes=("won",)) if d.account_id}
    customers = account_health(engine, connection, customer_ids)
    figures: dict[str, Any] = {
        "measured_at": now.isoformat(), "version": version.version if version else None, "window_days": window_days,
        "counts": dict(counts), "tiers": [], "by_tier": {}, "disqualification": None, "notes": [],
        "overall": {"open_deals": len(open_deals), **deal_figures(closed),
                    **customer_figures(list(customers.values()))},
    }
    if version is None:
        figures["notes"].append("no approved version: figures by tier start once one is approved")
        return figures
    card = version.scorecard
    scored = scored or score_accounts(engine, connection, card)
    tier_counts = scored.result.tier_counts()
    figures["overall"]["accounts"] = len(scored.ids)
    figures["tiers"] = card.tiers
    figures["by_tier"] = tier_figures(card.tiers, tier_counts, scored.tier_of, closed, open_deals, customers)
    bottom = card.tiers[-1]
    figures["disqualification"] = {"tier": bottom, "accounts": tier_counts.get(bottom, 0),
                                   "reasons": disqualification_reasons(scored.result, bottom)}
    if not closed:
        figures["notes"].append(f"no deals closed in the last {window_days} days")
    return figures
