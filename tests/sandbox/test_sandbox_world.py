"""The world generator: determinism, data shape and the planted ICP."""

from __future__ import annotations

import time
from datetime import datetime

import numpy as np
import pytest
from scipy.stats import chi2_contingency

from sandbox import PLANTED_TRUTH, World, generate_world


@pytest.fixture(scope="module")
def world(now: datetime) -> World:
    return generate_world(seed=11, accounts=20_000, now=now)


def _closed_deal_frame(world: World) -> dict[str, np.ndarray]:
    deals = world.deals
    closed = deals.is_closed
    idx = deals.account_id[closed] - 1
    return {"won": deals.is_won[closed], "idx": idx, "lead_source": deals.lead_source[closed],
            "cycle_days": (deals.closed_at[closed].data - deals.created_at[closed]) / 86_400_000}


def test_same_seed_gives_identical_world(now: datetime) -> None:
    """Generating twice with one seed yields equal columns; another seed differs."""
    a, b, c = (generate_world(s, 300, now) for s in (3, 3, 4))
    assert a.accounts.name.tolist() == b.accounts.name.tolist()
    assert np.array_equal(a.deals.modified_at, b.deals.modified_at)
    assert a.notes.text.tolist() == b.notes.text.tolist()
    assert a.accounts.name.tolist() != c.accounts.name.tolist()


def test_outcome_rates_are_in_range(world: World) -> None:
    """About 40% of accounts have a closed deal and the win rate is 25-35%."""
    frame = _closed_deal_frame(world)
    assert 0.35 <= np.unique(frame["idx"]).size / len(world.accounts) <= 0.45
    assert 0.25 <= frame["won"].mean() <= 0.35
    assert set(np.bincount(world.deals.account_id, minlength=len(world.accounts) + 1)[1:]) <= {0, 1, 2, 3}


def test_timestamps_are_consistent_and_tied(world: World) -> None:
    """created <= modified <= now for every record, and many records share a modified millisecond."""
    for table in (world.accounts, world.deals):
        assert (table.created_at <= table.modified_at).all()
        assert (table.modified_at <= world.now_ms).all()
    closed = world.deals.closed_at
    assert (closed.compressed() >= world.now_ms - 731 * 86_400_000).all()
    assert np.unique(world.accounts.modified_at, return_counts=True)[1].max() >= 1000
    assert world.accounts.row(0).created_at.tzinfo is not None


def test_missing_values_and_health_fields(world: World) -> None:
    """Attributes are missing for 2-5% of accounts; health fields exist only with a won deal."""
    accounts = world.accounts
    assert 0.02 <= np.mean(accounts.industry == None) <= 0.05  # noqa: E711
    assert 0.02 <= np.ma.getmaskarray(accounts.employees).mean() <= 0.05
    won_accounts = np.zeros(len(accounts), dtype=bool)
    won_accounts[world.deals.account_id[world.deals.is_won] - 1] = True
    assert np.array_equal(accounts.retention_status != None, won_accounts)  # noqa: E711
    assert np.ma.getmaskarray(accounts.nps)[~won_accounts].all()


def test_planted_drivers_raise_win_rate(world: World) -> None:
    """Software/fintech, 200-2,000 employees and a data warehouse each win clearly more often."""
    frame, accounts = _closed_deal_frame(world), world.accounts
    idx, won = frame["idx"], frame["won"]
    low, high = PLANTED_TRUTH["drivers"]["employees"]["between"]
    employees = accounts.employees.filled(-1)[idx]
    groups = {
        "industry": np.isin(accounts.industry[idx], PLANTED_TRUTH["drivers"]["industry"]["in"]),
        "employees": (employees >= low) & (employees <= high),
        "dwh": accounts.uses_data_warehouse.filled(False)[idx],
        "referral": frame["lead_source"] == "referral",
    }
    for name, inside in groups.items():
        assert won[inside].mean() - won[~inside].mean() > 0.1, name
    seed = accounts.funding_stage[idx] == "seed"
    assert won[seed].mean() < won[~seed].mean() - 0.1


def test_noise_attributes_have_no_effect(world: World) -> None:
    """Win rate does not depend on country, crm_system, founded decade or web visits beyond chance."""
    frame, accounts = _closed_deal_frame(world), world.accounts
    idx, won = frame["idx"], frame["won"]
    columns = {
        "country": accounts.country[idx],
        "crm_system": accounts.crm_system[idx],
        "founded_year": accounts.founded_year.filled(0)[idx] // 10,
        "web_visits_30d": np.digitize(accounts.web_visits_30d.filled(0)[idx], [100, 250, 600]),
    }
    assert set(columns) == set(PLANTED_TRUTH["noise"])
    for name, values in columns.items():
        keep = np.array([v is not None for v in values])
        levels, codes = np.unique(values[keep].astype(str), return_inverse=True)
        table = np.array([np.bincount(codes[won[keep] == w], minlength=len(levels)) for w in (True, False)])
        table = table[:, table.sum(axis=0) >= 20]
        assert chi2_contingency(table).pvalue > 0.001, name


def test_large_revenue_wins_but_churns(world: World) -> None:
    """Accounts above $500M pay more but churn and struggle in delivery far more often."""
    accounts = world.accounts
    big = accounts.annual_revenue.filled(0) > PLANTED_TRUTH["wins_but_churns"]["annual_revenue"]["gt"]
    customers = accounts.retention_status != None  # noqa: E711
    churned = accounts.retention_status == "churned"
    assert churned[big & customers].mean() > 2 * churned[~big & customers].mean()
    poor = accounts.delivery_fit == "poor"
    assert poor[big & customers].mean() > 0.5 > poor[~big & customers].mean()
    won = world.deals.is_won
    deal_big = big[world.deals.account_id - 1]
    assert np.ma.median(world.deals.amount[won & deal_big]) > 2 * np.ma.median(world.deals.amount[won & ~deal_big])


def test_referral_closes_faster(world: World) -> None:
    """Referral deals have a clearly shorter created-to-closed cycle."""
    frame = _closed_deal_frame(world)
    referral = frame["lead_source"] == "referral"
    assert np.median(frame["cycle_days"][referral]) < 0.75 * np.median(frame["cycle_days"][~referral])


def test_notes_reflect_outcomes(world: World) -> None:
    """Notes of every kind exist, point at real records and churn notes belong to churned accounts."""
    notes = world.notes
    assert set(notes.kind.tolist()) == {"win_loss", "churn", "delivery_fit", "interview"}
    churn_accounts = notes.account_id[notes.kind == "churn"] - 1
    assert (world.accounts.retention_status[churn_accounts] == "churned").all()
    linked = notes.deal_id.compressed() - 1
    assert np.array_equal(world.deals.account_id[linked], notes.account_id[~notes.deal_id.mask])


@pytest.mark.slow
def test_million_accounts_generate_quickly(now: datetime) -> None:
    """A 1,000,000-account world generates in well under a minute."""
    started = time.perf_counter()
    world = generate_world(seed=1, accounts=1_000_000, now=now)
    assert len(world.accounts) == 1_000_000
    assert time.perf_counter() - started < 60
