"""Reasons a rep can act on: the field's label, the value as the CRM shows it, points out of the maximum."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from worker.score.scorecard import ScorecardError, Scorer, load_scorecard, parse_scorecard
from worker.score.scorecard.labels import FieldLabels, humanise, money
from worker.score.scorecard.reasons import MAX_SENTENCE, reasons_text
from worker.settings import DEFAULT_CONFIG

STARTER = load_scorecard(DEFAULT_CONFIG / "starter-scorecard.yaml")
HUBSPOT_LABELS = FieldLabels.build(
    fields={"industry": "Industry", "employees": "Number of Employees", "annual_revenue": "Annual Revenue",
            "uses_data_warehouse": "Uses a data warehouse", "web_visits_30d": "Web visits (30 days)"},
    options={"industry": {"COMPUTER_SOFTWARE": "Computer Software", "HOSPITAL_HEALTH_CARE": "Hospital & Health Care"},
             "uses_data_warehouse": {"true": "Yes", "false": "No"}},
    money={"annual_revenue"}, currency="EUR")


def reasons_of(labels: FieldLabels | None = None, **attributes: Any) -> list[str]:
    result = Scorer(STARTER).score({k: [v] for k, v in attributes.items()}, n=1)
    return (result.reasons(labels=labels) if labels else result.reasons())[0]


def test_reasons_use_crm_labels_values_and_currency() -> None:
    """Industry reads as the CRM's option label, revenue in the portal's currency, sizes as numbers."""
    reasons = reasons_of(HUBSPOT_LABELS, industry="COMPUTER_SOFTWARE", employees=7, annual_revenue=12_500_000,
                         uses_data_warehouse=True, web_visits_30d=3)
    assert "Industry is Computer Software: +25 of 25" in reasons
    assert "Uses a data warehouse: Yes, +20 of 20" in reasons
    assert "Annual Revenue €12.5M: in our revenue range (10M-500M), +10 of 15" in reasons
    assert "Number of Employees 7: small for our best customers (under 50), +0 of 25" in reasons
    assert not any("COMPUTER_SOFTWARE" in r or "_" in r for r in reasons)


def test_without_labels_codes_read_as_words() -> None:
    """No label from the CRM: a code such as HOSPITAL_HEALTH_CARE still reads as words."""
    reasons = reasons_of(industry="HOSPITAL_HEALTH_CARE", employees=500)
    assert "Industry is Hospital health care: +0 of 25" in reasons
    assert humanise("series_b") == "Series B" and humanise("Acme Ltd") == "Acme Ltd"


def test_exclusion_says_what_it_does() -> None:
    """An exclusion names itself and its effect in plain words."""
    reasons = reasons_of(funding_stage="seed", employees=500)
    assert "Excluded: seed-stage company, -30 points" in reasons
    capped = parse_scorecard({
        "name": "t", "bands": [{"tier": "A", "min": 50}, {"tier": "C", "min": 0}],
        "criteria": [{"id": "e", "attribute": "employees", "bins": [{"range": [None, None], "points": 60,
                                                                    "label": "any"}]}],
        "exclusions": [{"id": "big", "label": "companies over 1,170 employees often churn",
                        "when": {"attribute": "employees", "range": [1170, None]}, "effect": {"cap_tier": "C"}}]})
    result = Scorer(capped).score({"employees": [5000]})
    assert "Excluded: companies over 1,170 employees often churn, so at most tier C" in result.reasons()[0]


def test_a_value_never_gets_another_bins_sentence() -> None:
    """Two values that round to the same display but fall in different bins keep their own bin's words."""
    result = Scorer(STARTER).score({"annual_revenue": [9_999_999.0, 10_000_001.0]})
    first, second = result.reasons()
    assert any("below our revenue range" in r for r in first)
    assert any("in our revenue range" in r for r in second)


def test_reasons_fit_the_owned_field() -> None:
    """Sentences are capped, and the field text keeps whole sentences within the CRM field's size."""
    long_label = "x" * 500
    labels = FieldLabels.build(options={"industry": {"retail": long_label}})
    reasons = reasons_of(labels, industry="retail")
    assert all(len(r) <= MAX_SENTENCE for r in reasons)
    text = reasons_text(["a" * 30, "b" * 30, "c" * 30], limit=70)
    assert text == "a" * 30 + "\n" + "b" * 30
    worst = sum(MAX_SENTENCE + 1 for _ in range(len(STARTER.criteria) + len(STARTER.exclusions)))
    assert worst < 32_768  # Salesforce's LongTextArea; HubSpot's text properties hold 65,536


def test_batch_reasons_equal_one_by_one_with_labels() -> None:
    """A million-account batch and one account at a time say the same (vectorised wording is exact)."""
    rng = np.random.default_rng(5)
    n = 400
    columns = {
        "industry": rng.choice(np.array(["COMPUTER_SOFTWARE", "RETAIL", "HOSPITAL_HEALTH_CARE", None],
                                        dtype=object), n),
        "employees": np.where(rng.random(n) < 0.1, np.nan, np.round(rng.lognormal(5, 2, n))),
        "annual_revenue": rng.lognormal(16, 2, n),
        "uses_data_warehouse": rng.choice(np.array([True, False, None], dtype=object), n),
        "funding_stage": rng.choice(np.array(["seed", "growth", None], dtype=object), n),
    }
    batch = Scorer(STARTER).score(columns).reasons(labels=HUBSPOT_LABELS)
    for i in range(0, n, 23):
        one = Scorer(STARTER).score({k: v[i:i + 1] for k, v in columns.items()}).reasons(labels=HUBSPOT_LABELS)
        assert one[0] == batch[i]


def test_band_meaning_is_the_tier_text() -> None:
    """A band's one-line meaning travels with the tier; too long for the tier field is refused."""
    assert STARTER.tier_text("A") == "A: best fit, prioritise"
    assert all(len(STARTER.tier_text(t)) <= 40 for t in STARTER.tiers)
    with pytest.raises(ScorecardError, match="bands\\[0\\].meaning"):
        parse_scorecard({"name": "t", "bands": [{"tier": "A", "min": 0, "meaning": "m" * 60}],
                         "criteria": [{"id": "e", "attribute": "e", "bins": [{"other": True, "points": 1,
                                                                             "label": "x"}]}]})


@pytest.mark.parametrize(("amount", "currency", "text"), [
    (1_234_567, "USD", "$1.23M"), (950_000, "EUR", "€950K"), (12_500, "CHF", "CHF 12.5K"), (800, None, "800"),
    (None, "USD", "n/a"), (-2_000_000, "GBP", "-£2M"),
])
def test_money(amount: float | None, currency: str | None, text: str) -> None:
    assert money(amount, currency) == text


def test_a_proposal_keeps_what_each_tier_means() -> None:
    """An evidence card without meanings takes the meanings of the version it replaces, tier by tier."""
    bare = parse_scorecard({"name": "t", "bands": [{"tier": "A", "min": 70}, {"tier": "B", "min": 40},
                                                   {"tier": "Z", "min": 0}],
                            "criteria": [{"id": "e", "attribute": "e", "bins": [{"other": True, "points": 1,
                                                                                "label": "x"}]}]})
    kept = bare.with_meanings(STARTER)
    assert kept.tier_text("A") == "A: best fit, prioritise" and kept.tier_text("Z") == "Z"
    assert [b.min for b in kept.bands] == [70, 40, 0] and bare.with_meanings(None) is bare
