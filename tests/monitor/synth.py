"""Generated inputs for the pure drift tests: a known truth per tier, months drawn from it, planted shifts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from worker.monitor import ClosedDeals, CriterionBins, Distribution, TierExpectation

TIERS = ("A", "B", "C", "D")
TIER_SHARES = (0.1, 0.25, 0.4, 0.25)
WIN_RATES = {"A": 0.45, "B": 0.30, "C": 0.18, "D": 0.08}
HEALTHY_RATES = {"A": 0.85, "B": 0.80, "C": 0.70, "D": 0.50}
SCORE_SHARES = (0.04, 0.06, 0.10, 0.15, 0.18, 0.17, 0.12, 0.08, 0.06, 0.04)
CRITERIA = {"employees": (0.3, 0.45, 0.2, 0.05), "industry": (0.35, 0.4, 0.15, 0.1)}
EDGES = (0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 101)


def evidence(rng: np.random.Generator, n_deals: int = 2000) -> dict[str, TierExpectation]:
    """What a refinement on ``n_deals`` closed deals drawn from the truth would have measured."""
    out = {}
    for tier, share in zip(TIERS, TIER_SHARES, strict=True):
        n = int(n_deals * share)
        won = int(rng.binomial(n, WIN_RATES[tier]))
        healthy = int(rng.binomial(won, HEALTHY_RATES[tier]))
        out[tier] = TierExpectation(tier, n, won, won / n, won, healthy, healthy / won if won else None)
    return out


def population(rng: np.random.Generator, n: int, scores: Sequence[float] = SCORE_SHARES,
               criteria: Mapping[str, Sequence[float]] = CRITERIA, source: str = "now") -> Distribution:
    """Accounts drawn over score bins, tiers and criterion bins."""
    score_counts = rng.multinomial(n, np.asarray(scores) / np.sum(scores))
    tier_counts = dict(zip(TIERS, rng.multinomial(n, TIER_SHARES).tolist(), strict=True))
    bins = {key: CriterionBins(key, key, tuple(f"bin {i}" for i in range(len(p))),
                               tuple(rng.multinomial(n, np.asarray(p) / np.sum(p)).tolist()))
            for key, p in criteria.items()}
    return Distribution(n, source, None, EDGES, tuple(score_counts.tolist()), tier_counts, bins)


def month(rng: np.random.Generator, n_deals: int, win_rates: Mapping[str, float] = WIN_RATES,
          healthy_rates: Mapping[str, float] = HEALTHY_RATES) -> ClosedDeals:
    """Deals closed in a month: tiers in the usual mix, outcomes and health from the given rates."""
    tiers = rng.choice(TIERS, n_deals, p=TIER_SHARES)
    won = rng.random(n_deals) < np.array([win_rates[t] for t in tiers])
    healthy = [bool(rng.random() < healthy_rates[t]) if w else None for t, w in zip(tiers, won, strict=True)]
    return ClosedDeals.of(tiers.tolist(), won.tolist(), healthy, [f"D{i}" for i in range(n_deals)])
