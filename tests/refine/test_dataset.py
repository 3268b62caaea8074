"""Building the columns from canonical records: types, window, pipeline, skipped attributes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from worker.ingest.records import AccountRecord, DealRecord
from worker.refine import RefinementInput, RefineSettings
from worker.refine.columns import analysable
from worker.refine.dataset import infer_column

NOW = datetime(2025, 6, 30, tzinfo=UTC)


def test_types_are_inferred_from_values() -> None:
    assert infer_column("n", [1, 2.5, None, "3"]).kind == "numeric"
    assert infer_column("n", ["1,200", "300", ""]).kind == "numeric"
    flag = infer_column("flag", [True, False, None])
    assert flag.kind == "categorical" and flag.values.tolist() == ["true", "false", None]
    text = infer_column("industry", ["Software ", "software", "RETAIL", None])
    assert text.kind == "categorical" and text.n_distinct == 2 and text.n_present == 3
    assert infer_column("founded", [datetime(2020, 1, 1), None]).kind == "date"
    assert infer_column("mixed", [1, "a", "b", 2]).kind == "categorical"


def _records() -> tuple[list[AccountRecord], list[DealRecord]]:
    accounts = [
        AccountRecord(
            id=f"A{i}",
            attributes={
                "employees": 10 * i,
                "website": f"https://x{i}.example",
                "lifecyclestage": "customer",
                "free_text": f"note {i}",
            },
            health={"retention_status": "active", "nps": 9} if i % 2 else {},
        )
        for i in range(60)
    ]
    accounts.append(AccountRecord(id="GONE", deleted=True, attributes={"employees": 5}))
    deals = [
        DealRecord(
            id=f"D{i}",
            account_id=f"A{i}",
            outcome="won" if i % 3 else "lost",
            amount=1000.0 + i,
            created_at=NOW - timedelta(days=100),
            closed_at=NOW - timedelta(days=10 + i),
            lead_source="referral" if i % 2 else "ads",
            attributes={"had_demo": i % 4 == 0},
        )
        for i in range(60)
    ]
    deals += [
        DealRecord(id="O1", account_id="A1", outcome="open", amount=500.0),
        DealRecord(id="O2", account_id="A1", outcome="open", amount=250.0),
        DealRecord(id="O3", account_id="GONE", outcome="open", amount=999.0),
        DealRecord(id="NOACC", account_id=None, outcome="lost", closed_at=NOW - timedelta(days=3)),
    ]
    return accounts, deals


def test_rows_are_closed_deals_with_their_account() -> None:
    accounts, deals = _records()
    data = RefinementInput.from_records(accounts, deals, [], NOW)
    assert len(data) == 61
    assert data.excluded["open"] == 3
    row = list(data.deal_ids).index("D7")
    assert data.account_columns["employees"].values[row] == 70
    assert data.health.nps[row] == 9
    assert data.cycle_days[row] == 100 - 17
    no_account = list(data.deal_ids).index("NOACC")
    assert np.isnan(data.account_columns["employees"].values[no_account])
    assert "lead_source" in data.deal_columns and "had_demo" in data.deal_columns


def test_population_has_live_accounts_and_open_pipeline() -> None:
    accounts, deals = _records()
    population = RefinementInput.from_records(accounts, deals, [], NOW).population
    assert len(population) == 60 and "GONE" not in population.account_ids
    a1 = list(population.account_ids).index("A1")
    assert population.open_pipeline[a1] == 750.0 and population.open_deals[a1] == 2
    assert population.open_pipeline.sum() == 750.0


def test_identifiers_free_text_and_leaky_fields_are_skipped_with_a_note() -> None:
    accounts, deals = _records()
    data = RefinementInput.from_records(accounts, deals, [], NOW)
    kept, skipped = analysable(data.account_columns, RefineSettings(), "account")
    assert [c.name for c in kept] == ["employees"]
    reasons = {s.attribute: s.reason for s in skipped}
    assert "configuration" in reasons["website"]
    assert "reveal the outcome" in reasons["lifecyclestage"]
    assert "free text" in reasons["free_text"]
    custom = RefineSettings(ignore_attributes=("employees",), leaky_attributes=())
    kept, skipped = analysable(data.account_columns, custom, "account")
    assert "employees" in {s.attribute for s in skipped}
    assert {c.name for c in kept} == {"lifecyclestage"}
