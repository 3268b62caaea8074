"""Generated won/lost worlds with a known truth, for the refinement quality battery and its tests.

Each world plants drivers of known strength (log-odds effects on winning) beside noise attributes,
one closed deal per account, and says which attributes a good refinement should propose. The
battery (``icp bench refine --quality``) and ``tests/refine`` run the same generators at
different sizes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from worker.ingest.records import AccountRecord, DealRecord
from worker.refine.dataset import RefinementInput

Dates = Literal["spread", "tied", "missing"]
NOW = datetime(2025, 6, 30, tzinfo=UTC)
INDUSTRIES = ("software", "finance", "retail", "manufacturing", "healthcare", "education", "logistics")
STAGES = ("seed", "series_a", "series_b", "series_c", "growth", "public")
NOISE = ("region", "web_visits", "has_blog", "noise_index")
Attributes = dict[str, npt.NDArray[Any]]


@dataclass(frozen=True)
class World:
    """Generated accounts and closed deals, with the planted drivers and the noise attributes named."""

    name: str
    description: str
    accounts: list[AccountRecord]
    deals: list[DealRecord]
    drivers: tuple[str, ...]
    noise: tuple[str, ...]
    dates: Dates = "spread"

    @property
    def non_drivers(self) -> tuple[str, ...]:
        """Every generated attribute without a planted effect (the noise ones and the idle firmographics)."""
        names = {k for a in self.accounts for k in a.attributes}
        return tuple(sorted(names - set(self.drivers)))

    def input(self) -> RefinementInput:
        """The refinement input; ``missing`` dates leave every close date unknown (NaN)."""
        data = RefinementInput.from_records(self.accounts, self.deals, [], NOW)
        if self.dates == "missing":
            return replace(data, closed_at=np.full(len(data), np.nan))
        return data


def _noise(rng: np.random.Generator, n: int) -> Attributes:
    return {
        "region": rng.choice(("na", "emea", "apac", "latam"), n),
        "web_visits": rng.poisson(20, n).astype(np.float64),
        "has_blog": rng.random(n) < 0.5,
        "noise_index": np.round(rng.normal(50, 15, n), 1),
    }


def _firmographics(rng: np.random.Generator, n: int) -> Attributes:
    return {
        "industry": rng.choice(INDUSTRIES, n, p=(0.2, 0.15, 0.15, 0.15, 0.15, 0.1, 0.1)),
        "employees": np.maximum(1, np.round(np.exp(rng.normal(5.3, 1.4, n)))),
        "uses_data_warehouse": rng.random(n) < 0.4,
        "funding_stage": rng.choice(STAGES, n),
    }


def _drivers_logit(a: Attributes) -> npt.NDArray[np.float64]:
    """Strong industry (+1.0 software, +0.6 finance, -0.6 retail), medium size sweet spot, weaker warehouse."""
    industry = np.select([a["industry"] == "software", a["industry"] == "finance", a["industry"] == "retail"],
                         [1.0, 0.6, -0.6], 0.0)
    employees = a["employees"]
    size = np.where((employees >= 200) & (employees < 2000), 0.7, np.where(employees < 50, -0.5, 0.0))
    return -1.0 + industry + size + np.where(a["uses_data_warehouse"], 0.45, 0.0)


def _records(
    rng: np.random.Generator, attributes: Attributes, logit: npt.NDArray[np.float64], dates: Dates
) -> tuple[list[AccountRecord], list[DealRecord]]:
    n = len(logit)
    won = rng.random(n) < 1 / (1 + np.exp(-logit))
    days = rng.integers(1, 540, n) if dates == "spread" else np.full(n, 3)
    accounts, deals = [], []
    for i in range(n):
        values = {k: _plain(v[i]) for k, v in attributes.items()}
        accounts.append(AccountRecord(id=f"a{i}", attributes={k: v for k, v in values.items() if v is not None}))
        closed = NOW - timedelta(days=int(days[i]))
        deals.append(DealRecord(id=f"d{i}", account_id=f"a{i}", outcome="won" if won[i] else "lost",
                                created_at=closed - timedelta(days=30), closed_at=closed, amount=10_000.0))
    return accounts, deals


def _plain(value: Any) -> Any:
    if isinstance(value, float) and np.isnan(value):
        return None
    item = value.item() if hasattr(value, "item") else value
    return None if item is None else item


def drivers_world(n: int, seed: int, dates: Dates = "spread") -> World:
    """Three drivers of different strengths and four noise attributes."""
    rng = np.random.default_rng(seed)
    a = {**_firmographics(rng, n), **_noise(rng, n)}
    accounts, deals = _records(rng, a, _drivers_logit(a), dates)
    label = {"spread": "", "tied": " (every deal closed the same day)", "missing": " (no close dates)"}[dates]
    return World(f"drivers{'' if dates == 'spread' else '_' + dates + '_dates'}",
                 "industry strong, company size medium, data warehouse weak; four noise attributes" + label,
                 accounts, deals, ("industry", "employees", "uses_data_warehouse"), NOISE, dates)


def strong_world(n: int, seed: int) -> World:
    """A pre-close categorical with an information value above 1 (existing customer) beside a normal driver."""
    rng = np.random.default_rng(seed)
    a = {**_firmographics(rng, n), **_noise(rng, n)}
    a["customer_type"] = rng.choice(("existing", "new"), n, p=(0.3, 0.7))
    logit = -1.6 + np.where(a["customer_type"] == "existing", 2.8, 0.0) + np.where(a["uses_data_warehouse"], 0.6, 0.0)
    accounts, deals = _records(rng, a, logit, "spread")
    return World("strong_categorical", "existing versus new customer, information value above 1 (known before close)",
                 accounts, deals, ("customer_type", "uses_data_warehouse"), NOISE)


def interaction_world(n: int, seed: int) -> World:
    """Winning needs a data warehouse and a software or finance company together (an interaction)."""
    rng = np.random.default_rng(seed)
    a = {**_firmographics(rng, n), **_noise(rng, n)}
    both = a["uses_data_warehouse"] & np.isin(a["industry"], ("software", "finance"))
    accounts, deals = _records(rng, a, -1.2 + np.where(both, 1.6, 0.0), "spread")
    return World("interaction", "data warehouse and software/finance only together (+1.6 log-odds)", accounts, deals,
                 ("industry", "uses_data_warehouse"), NOISE)


def missing_world(n: int, seed: int) -> World:
    """Informative missingness (unknown funding stage wins less) and uninformative (30% of sizes unknown)."""
    rng = np.random.default_rng(seed)
    a = {**_firmographics(rng, n), **_noise(rng, n)}
    logit = _drivers_logit(a)
    stage_unknown = rng.random(n) < 1 / (1 + np.exp(-(logit * -1.2 - 1.2)))
    a["funding_stage"] = np.where(stage_unknown, np.array(None, dtype=object), a["funding_stage"]).astype(object)
    a["employees"] = np.where(rng.random(n) < 0.3, np.nan, a["employees"])
    accounts, deals = _records(rng, a, logit, "spread")
    return World("missing_values", "funding stage unknown mostly on losing deals (informative); 30% of sizes unknown "
                 "at random", accounts, deals, ("industry", "employees", "uses_data_warehouse", "funding_stage"),
                 NOISE)


def noise_world(n: int, seed: int) -> World:
    """Firmographics and noise with no effect at all: nothing should be proposed."""
    rng = np.random.default_rng(seed)
    a = {**_firmographics(rng, n), **_noise(rng, n)}
    accounts, deals = _records(rng, a, np.full(n, -0.8), "spread")
    return World("noise_only", "eight attributes, none with any effect", accounts, deals, (), tuple(a))


def small_world(won: int, lost: int, seed: int) -> World:
    """Exactly ``won`` won and ``lost`` lost deals, a strong industry effect and noise."""
    rng = np.random.default_rng(seed)
    n = won + lost
    a = {**_firmographics(rng, n), **_noise(rng, n)}
    score = _drivers_logit(a) + rng.logistic(size=n)
    outcome = np.zeros(n, dtype=bool)
    outcome[np.argsort(-score)[:won]] = True
    accounts, deals = _records(rng, a, np.where(outcome, 50.0, -50.0), "spread")
    return World(f"small_{won}_{lost}", f"{won} won and {lost} lost deals, planted drivers as in 'drivers'",
                 accounts, deals, ("industry", "employees", "uses_data_warehouse"), NOISE)


GENERATORS: dict[str, Callable[[int, int], World]] = {
    "drivers": drivers_world,
    "strong_categorical": strong_world,
    "interaction": interaction_world,
    "missing_values": missing_world,
    "tied_dates": lambda n, seed: drivers_world(n, seed, "tied"),
    "missing_dates": lambda n, seed: drivers_world(n, seed, "missing"),
    "noise_only": noise_world,
}
"""Worlds sized by deal count; ``small_world`` takes its own won/lost counts."""
