"""Vectorised building blocks of the world generator.

Every function takes its own random generator and returns plain numpy columns. Timestamps are
int64 epoch milliseconds (UTC).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sandbox import _catalog as cat
from sandbox import _text as txt

DAY_MS = 86_400_000
_NEVER = np.iinfo(np.int64).max
Columns = dict[str, Any]


def codes(rng: np.random.Generator, weights: tuple[float, ...], n: int) -> np.ndarray:
    """Draw `n` category codes with the given (normalised) weights."""
    p = np.asarray(weights, dtype=float)
    return np.asarray(rng.choice(len(p), size=n, p=p / p.sum()))


def labels(options: tuple[Any, ...], index: np.ndarray) -> np.ndarray:
    """Map integer codes to an object array of option values."""
    table = np.empty(len(options), dtype=object)
    table[:] = list(options)
    return np.asarray(table[index])


def days_ago(rng: np.random.Generator, now_ms: int, low: float, high: float, n: int) -> np.ndarray:
    """Timestamps uniformly between `high` and `low` days before now."""
    return now_ms - (rng.uniform(low, high, n) * DAY_MS).astype(np.int64)


def owners(rng: np.random.Generator, count: int, now_ms: int) -> Columns:
    """Sales reps: names, e-mails and creation times."""
    pairs = rng.permutation(len(txt.FIRST_NAMES) * len(txt.LAST_NAMES))[:count]
    first = [txt.FIRST_NAMES[p // len(txt.LAST_NAMES)] for p in pairs]
    last = [txt.LAST_NAMES[p % len(txt.LAST_NAMES)] for p in pairs]
    return {
        "id": np.arange(1, count + 1, dtype=np.int64),
        "first_name": first,
        "last_name": last,
        "email": [f"{f}.{s}@sandbox-crm.example".lower() for f, s in zip(first, last, strict=True)],
        "created_at": days_ago(rng, now_ms, 900, 2000, count),
    }


def company_names(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Company names and unique domains (a counter is appended to repeated domain stems)."""
    pre = rng.integers(0, len(txt.NAME_PREFIXES), n)
    core = rng.integers(0, len(txt.NAME_CORES), n)
    suf = rng.integers(0, len(txt.NAME_SUFFIXES), n)
    tld = rng.integers(0, len(txt.DOMAIN_TLDS), n)
    stem = pre * len(txt.NAME_CORES) + core
    order = np.argsort(stem, kind="stable")
    sorted_stem = stem[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_stem)) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - group_start
    P, C, S, T = txt.NAME_PREFIXES, txt.NAME_CORES, txt.NAME_SUFFIXES, txt.DOMAIN_TLDS
    names = [f"{P[a]}{C[b]} {S[c]}" for a, b, c in zip(pre.tolist(), core.tolist(), suf.tolist(), strict=True)]
    domains = [
        f"{P[a].lower()}{C[b]}{r if r else ''}{T[t]}"
        for a, b, r, t in zip(pre.tolist(), core.tolist(), rank.tolist(), tld.tolist(), strict=True)
    ]
    return np.array(names, dtype=object), np.array(domains, dtype=object)


def firmographics(rng: np.random.Generator, n: int, n_owners: int, now_year: int) -> Columns:
    """True (never missing) account attributes plus the boolean driver flags."""
    employees = np.clip(np.rint(10 ** rng.normal(2.2, 0.75, n)), 1, 100_000).astype(np.int64)
    revenue = np.round(employees * np.exp(rng.normal(np.log(180_000.0), 0.55, n)), -3)
    size = np.searchsorted(np.asarray(cat.SIZE_BUCKET_EDGES), employees, side="right")
    cum = np.cumsum(np.asarray(cat.FUNDING_WEIGHTS_BY_SIZE), axis=1)[size]
    funding = np.minimum((rng.random(n)[:, None] > cum).sum(axis=1), len(cat.FUNDING_STAGES) - 1)
    dwh = rng.random(n) < np.asarray(cat.DATA_WAREHOUSE_RATE_BY_SIZE)[size]
    industry = codes(rng, cat.INDUSTRY_WEIGHTS, n)
    icp_codes = [cat.INDUSTRIES.index(i) for i in cat.ICP_INDUSTRIES]
    low, high = cat.SWEET_SPOT_EMPLOYEES
    return {
        "employees": employees,
        "annual_revenue": revenue,
        "industry": labels(cat.INDUSTRIES, industry),
        "funding_stage": labels(cat.FUNDING_STAGES, funding),
        "uses_data_warehouse": dwh,
        "country": labels(cat.COUNTRIES, codes(rng, cat.COUNTRY_WEIGHTS, n)),
        "crm_system": labels(cat.CRM_SYSTEMS, codes(rng, cat.CRM_WEIGHTS, n)),
        "founded_year": now_year - np.clip(np.rint(rng.gamma(2.0, 9.0, n)), 1, 110).astype(np.int64),
        "web_visits_30d": np.rint(rng.lognormal(np.log(250.0), 1.1, n)).astype(np.int64),
        "owner_id": rng.integers(1, n_owners + 1, n).astype(np.int64),
        "icp_industry": np.isin(industry, icp_codes),
        "sweet_spot_size": (employees >= low) & (employees <= high),
        "large_revenue": revenue > cat.LARGE_REVENUE_THRESHOLD,
        "seed_stage": funding == cat.FUNDING_STAGES.index("seed"),
    }


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def _logit(effects: dict[str, float], flags: dict[str, np.ndarray]) -> np.ndarray:
    total = np.full(len(next(iter(flags.values()))), effects["intercept"])
    for name, coef in effects.items():
        if name != "intercept":
            total = total + coef * flags[name]
    return total


def deals(rng: np.random.Generator, acc: Columns, n_owners: int, now_ms: int) -> Columns:
    """Deals: 0-3 per account, outcome drawn from the planted win model."""
    n = len(acc["employees"])
    per_account = rng.choice(4, size=n, p=[0.52, 0.28, 0.14, 0.06])
    a = np.repeat(np.arange(n), per_account)
    m = len(a)
    lead = codes(rng, cat.LEAD_SOURCE_WEIGHTS, m)
    flags = {k: acc[k][a] for k in ("icp_industry", "sweet_spot_size", "large_revenue", "seed_stage")}
    flags["data_warehouse"] = acc["uses_data_warehouse"][a]
    flags["referral"] = lead == cat.LEAD_SOURCES.index("referral")
    closed = rng.random(m) < 0.8
    won = closed & (rng.random(m) < _sigmoid(_logit(cat.WIN_LOGIT, flags)))
    cycle = rng.gamma(2.5, 30.0, m) * np.where(flags["referral"], cat.REFERRAL_CYCLE_FACTOR, 1.0)
    cycle = np.clip(cycle * np.where(flags["large_revenue"], 1.4, 1.0), 3, 400)
    closed_at = days_ago(rng, now_ms, 1, 730, m)
    opened = days_ago(rng, now_ms, 1, 150, m)
    created = np.where(closed, closed_at - (cycle * DAY_MS).astype(np.int64), opened)
    big_account = (acc["employees"][a] >= 1000) | flags["large_revenue"]
    enterprise = big_account & (rng.random(m) < 0.7)
    amount = np.exp(rng.normal(np.log(18_000.0), 0.6, m)) * (acc["employees"][a] / 200.0) ** 0.25
    amount = amount * np.where(flags["large_revenue"], cat.LARGE_REVENUE_AMOUNT_FACTOR, 1.0)
    amount = np.maximum(np.round(amount, -2), 500)
    lost = closed & ~won
    reason = labels(cat.LOSS_REASONS, codes(rng, cat.LOSS_REASON_WEIGHTS, m))
    reason[~lost] = None
    competitor = labels(txt.COMPETITORS + (None,), codes(rng, (0.14,) * 5 + (0.3,), m))
    competitor[reason != "Lost to competitor"] = None
    modified = np.where(closed, np.minimum(closed_at + rng.integers(0, 3 * DAY_MS, m), now_ms),
                        created + ((now_ms - created) * rng.random(m)).astype(np.int64))
    modified = _bursts(rng, modified, np.where(closed, closed_at, created), now_ms, 2, 0.15)
    owner = np.where(rng.random(m) < 0.9, acc["owner_id"][a], rng.integers(1, n_owners + 1, m))
    return {
        "account_index": a, "owner_id": owner.astype(np.int64),
        "pipeline": np.where(enterprise, cat.ENTERPRISE_PIPELINE.id, cat.DEFAULT_PIPELINE.id).astype(object),
        "stage": _stages(rng, enterprise, closed, won), "is_closed": closed, "is_won": won,
        "amount": amount, "created_at": created, "closed_at": np.where(closed, closed_at, -1),
        "modified_at": modified, "loss_reason": reason, "competitor": competitor,
        "lead_source": labels(cat.LEAD_SOURCES, lead), "flags": flags,
        "product": rng.integers(0, len(txt.DEAL_PRODUCTS), m),
    }


def _stages(rng: np.random.Generator, enterprise: np.ndarray, closed: np.ndarray, won: np.ndarray) -> np.ndarray:
    out = np.empty(len(closed), dtype=object)
    for is_ent, pipe in ((False, cat.DEFAULT_PIPELINE), (True, cat.ENTERPRISE_PIPELINE)):
        sel = enterprise == is_ent
        open_ids = [s.id for s in pipe.open_stages]
        out[sel & won] = pipe.won_stage.id
        out[sel & closed & ~won] = pipe.lost_stage.id
        is_open = sel & ~closed
        out[is_open] = labels(tuple(open_ids), rng.integers(0, len(open_ids), int(is_open.sum())))
    return out


def _bursts(rng: np.random.Generator, modified: np.ndarray, floor: np.ndarray, now_ms: int,
            count: int, share: float) -> np.ndarray:
    """Move a share of records onto a few shared bulk-update instants (identical to the ms)."""
    times = days_ago(rng, now_ms, 3, 400, count)
    pick = times[rng.integers(0, count, len(modified))]
    chosen = (rng.random(len(modified)) < share) & (pick >= floor)
    return np.where(chosen, pick, modified)


def account_times(rng: np.random.Generator, n: int, d: Columns, now_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """created_at (with a shared initial-import instant) and modified_at (with bulk bursts)."""
    first_deal = np.full(n, _NEVER, dtype=np.int64)
    np.minimum.at(first_deal, d["account_index"], d["created_at"])
    has_deal = first_deal < _NEVER
    created = np.where(has_deal, first_deal - (rng.uniform(1, 500, n) * DAY_MS).astype(np.int64),
                       days_ago(rng, now_ms, 1, 6 * 365, n))
    imported_at = now_ms - 4 * 365 * DAY_MS + int(rng.integers(0, DAY_MS))
    created = np.maximum(created, imported_at)
    last = created.copy()
    np.maximum.at(last, d["account_index"], d["modified_at"])
    modified = last + ((now_ms - last) * rng.beta(0.7, 2.5, n)).astype(np.int64)
    modified = _bursts(rng, np.minimum(modified, now_ms), created, now_ms, 3 + n // 25_000, 0.3)
    return created, modified


def health(rng: np.random.Generator, acc: Columns, d: Columns, now_ms: int) -> Columns:
    """Customer-health fields for accounts with a won deal (NaN / None elsewhere)."""
    n = len(acc["employees"])
    first_win = np.full(n, _NEVER, dtype=np.int64)
    np.minimum.at(first_win, d["account_index"][d["is_won"]], d["closed_at"][d["is_won"]])
    won = first_win < _NEVER
    flags = {k: acc[k] for k in ("icp_industry", "sweet_spot_size", "large_revenue", "seed_stage")}
    flags["data_warehouse"] = acc["uses_data_warehouse"]
    tenure = np.where(won, now_ms - first_win, 0)
    churned = won & (tenure > 60 * DAY_MS) & (rng.random(n) < _sigmoid(_logit(cat.CHURN_LOGIT, flags)))
    contracted = won & ~churned & (rng.random(n) < 0.12)
    status = np.where(churned, "churned", np.where(contracted, "contracted", "active")).astype(object)
    status[~won] = None
    churn_day = (first_win + (tenure * rng.uniform(0.35, 0.95, n)).astype(np.int64)) // DAY_MS * DAY_MS
    fit = flags["icp_industry"].astype(int) + flags["sweet_spot_size"] + flags["data_warehouse"]
    big, seed = flags["large_revenue"], flags["seed_stage"]
    nps = np.clip(np.rint(rng.normal(6.8 + 0.5 * fit - 1.8 * big - 1.0 * seed - 2.5 * churned, 1.6)), 0, 10)
    ticket_rate = 2.5 * np.where(big, cat.LARGE_REVENUE_TICKET_FACTOR, 1.0) * 0.85**fit * np.where(seed, 1.5, 1.0)
    tickets = rng.poisson(ticket_rate)
    ttv = 40.0 * np.exp(rng.normal(0, 0.35, n)) * np.where(big, cat.LARGE_REVENUE_TTV_FACTOR, 1.0)
    ttv = np.rint(ttv * 0.85 ** fit * np.where(seed, 1.3, 1.0))
    score = 0.5 * fit - 1.8 * big - 0.6 * seed + rng.normal(0, 0.8, n)
    delivery = np.where(score > 0.6, "good", np.where(score < -0.3, "poor", "fair")).astype(object)
    delivery[~won] = None
    margin = np.clip(np.round(70 + 3 * fit - 14 * big - 5 * seed + rng.normal(0, 5, n), 1), 15, 92)
    return {
        "has_won": won, "first_win": first_win, "retention_status": status,
        "churn_date": np.where(churned, churn_day, -1), "nps": nps, "support_tickets_90d": tickets,
        "time_to_value_days": ttv, "delivery_fit": delivery, "gross_margin_pct": margin,
    }


def blank(rng: np.random.Generator, values: np.ndarray, rate: float, present: np.ndarray | None = None) -> Any:
    """Hide a random `rate` share of values: None in object arrays, masked elsewhere."""
    hide = rng.random(len(values)) < rate
    if present is not None:
        hide = hide | ~present
    if values.dtype == object:
        out = values.copy()
        out[hide] = None
        return out
    return np.ma.MaskedArray(values, mask=hide)
