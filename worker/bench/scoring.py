"""Benchmarks that print figures: speed and memory of the hot paths (never timed tests)."""

from __future__ import annotations

import resource
import time

import numpy as np
from rich.console import Console

from worker.score.scorecard import Scorer, load_scorecard
from worker.settings import DEFAULT_CONFIG


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_accounts(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    """Columns shaped like CRM data, with about 3% missing values per attribute."""
    rng = np.random.default_rng(seed)
    industries = np.array(["COMPUTER_SOFTWARE", "FINANCIAL_SERVICES", "RETAIL", "INSURANCE", "EDUCATION_MANAGEMENT",
                           "TELECOMMUNICATIONS", None], dtype=object)
    columns: dict[str, np.ndarray] = {
        "industry": industries[rng.integers(0, len(industries), n)],
        "employees": np.round(rng.lognormal(5, 1.8, n)),
        "annual_revenue": rng.lognormal(16, 2.2, n),
        "uses_data_warehouse": rng.choice(np.array([True, False, None], dtype=object), n, p=[0.4, 0.57, 0.03]),
        "web_visits_30d": rng.poisson(12, n).astype(float),
        "funding_stage": rng.choice(np.array(["seed", "series_a", "growth", "public", None], dtype=object), n),
    }
    for name in ("employees", "annual_revenue", "web_visits_30d"):
        columns[name][rng.random(n) < 0.03] = np.nan
    return columns


def scoring_benchmark(n: int, console: Console) -> dict[str, float]:
    """Score ``n`` generated accounts with the starter scorecard; print and return the figures."""
    card = load_scorecard(DEFAULT_CONFIG / "starter-scorecard.yaml")
    columns = synthetic_accounts(n)
    rss_before = _peak_rss_mb()
    t0 = time.perf_counter()
    result = Scorer(card).score(columns, n=n)
    t1 = time.perf_counter()
    reasons = result.reasons()
    t2 = time.perf_counter()
    figures = {"accounts": float(n), "score_seconds": round(t1 - t0, 3), "reasons_seconds": round(t2 - t1, 3),
               "accounts_per_second": round(n / max(t2 - t0, 1e-9)), "peak_rss_mb": round(_peak_rss_mb(), 1),
               "rss_growth_mb": round(_peak_rss_mb() - rss_before, 1)}
    console.print(f"scored {n:,} accounts: scores {figures['score_seconds']}s, reasons {figures['reasons_seconds']}s "
                  f"({figures['accounts_per_second']:,.0f} accounts/s); peak RSS {figures['peak_rss_mb']} MB; "
                  f"tiers {result.tier_counts()}; example reasons: {reasons[0]}")
    return figures
