"""Table-driven tests of bins, exclusions, bands, missing values and reasons."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from worker.score.scorecard import Scorer, parse_scorecard

CARD = parse_scorecard({
    "name": "t",
    "criteria": [
        {"id": "employees", "attribute": "employees", "dimension": "firmographic", "bins": [
            {"range": [None, 200], "points": 0, "label": "employees under 200"},
            {"range": [200, 2000], "points": 40, "label": "employees 200-1,999"},
            {"range": [2000, None], "points": 20, "label": "employees 2,000+"}],
         "missing": {"points": 5, "label": "employees unknown"}},
        {"id": "industry", "attribute": "industry", "bins": [
            {"values": ["software", "FINTECH"], "points": 40, "label": "industry software or fintech"},
            {"values": ["nonprofit"], "points": -10, "label": "industry nonprofit"},
            {"other": True, "points": 10, "label": "industry other"}]},
        {"id": "warehouse", "attribute": "uses_data_warehouse", "bins": [
            {"values": [True], "points": 20, "label": "uses a data warehouse"},
            {"values": [False], "points": 0, "label": "no data warehouse"}]},
    ],
    "exclusions": [
        {"id": "seed", "label": "seed stage", "when": {"attribute": "funding_stage", "values": ["seed"]},
         "effect": {"points": -30}},
        {"id": "tiny", "label": "tiny revenue", "when": {"attribute": "revenue", "range": [None, 1e6]},
         "effect": {"cap_tier": "C"}},
    ],
    "bands": [{"tier": "A", "min": 80}, {"tier": "B", "min": 60}, {"tier": "C", "min": 40}, {"tier": "D", "min": 0}],
})


def score_one(**attributes: Any) -> tuple[int, str, list[str]]:
    result = Scorer(CARD).score({k: [v] for k, v in attributes.items()}, n=1)
    return int(result.scores[0]), str(result.tiers[0]), result.reasons()[0]


@pytest.mark.parametrize(("attributes", "score", "tier"), [
    ({"employees": 500, "industry": "Software", "uses_data_warehouse": True}, 100, "A"),
    ({"employees": 200, "industry": "fintech", "uses_data_warehouse": "false"}, 80, "A"),
    ({"employees": 199.9, "industry": "retail", "uses_data_warehouse": "no"}, 10, "D"),
    ({"employees": 2000, "industry": "nonprofit", "uses_data_warehouse": True}, 30, "D"),
    ({"employees": 5000, "industry": "software", "uses_data_warehouse": "TRUE"}, 80, "A"),
    ({"employees": None, "industry": "software", "uses_data_warehouse": True}, 65, "B"),
    ({"employees": "not a number", "industry": "software", "uses_data_warehouse": True}, 65, "B"),
    ({"employees": 500, "industry": "software", "uses_data_warehouse": True, "funding_stage": "Seed"}, 70, "B"),
    ({"employees": 500, "industry": "software", "uses_data_warehouse": True, "revenue": 5e5}, 100, "C"),
    ({"employees": 10, "industry": "nonprofit", "uses_data_warehouse": False, "funding_stage": "seed"}, 0, "D"),
])
def test_scores_and_tiers(attributes: dict[str, Any], score: int, tier: str) -> None:
    """Bins are half-open, categories case-insensitive, exclusions subtract or cap, scores clip to 0-100."""
    assert score_one(**attributes)[:2] == (score, tier)


def test_missing_attribute_is_shown_not_silently_zero() -> None:
    """A missing value takes the criterion's missing points and is named in the reasons."""
    _, _, reasons = score_one(employees=None, industry="software", uses_data_warehouse=True)
    assert "Employees unknown: +5 of 40" in reasons


def test_attribute_absent_from_input_counts_as_missing_for_everyone() -> None:
    """Scoring without a column does not crash; every account shows it missing."""
    result = Scorer(CARD).score({"industry": ["software", "retail"]})
    assert result.missing[:, 0].all() and result.missing[:, 2].all()
    assert list(result.scores) == [45, 15]


def test_reasons_are_short_sentences_positive_then_negative() -> None:
    """Reasons list the top positive contributions, then what held the score back, each with the value."""
    _, _, reasons = score_one(employees=500, industry="software", uses_data_warehouse=False, funding_stage="seed")
    assert reasons[:2] == ["Employees 500: 200-1,999, +40 of 40", "Industry is software: +40 of 40"]
    assert "Excluded: seed stage, -30 points" in reasons
    assert "Uses data warehouse: No, +0 of 20" in reasons


def test_tier_cap_is_explained() -> None:
    """A tier cap names the exclusion and the cap."""
    _, tier, reasons = score_one(employees=500, industry="software", uses_data_warehouse=True, revenue=10)
    assert tier == "C" and "Excluded: tiny revenue, so at most tier C" in reasons


def test_vectorised_batch_matches_one_by_one() -> None:
    """Scoring many accounts at once gives exactly the per-account results."""
    rng = np.random.default_rng(3)
    n = 500
    columns = {
        "employees": np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(5, 2, n)),
        "industry": rng.choice(np.array(["software", "retail", "nonprofit", None], dtype=object), n),
        "uses_data_warehouse": rng.choice(np.array([True, False, None], dtype=object), n),
        "funding_stage": rng.choice(np.array(["seed", "growth"], dtype=object), n),
        "revenue": rng.lognormal(14, 2, n),
    }
    batch = Scorer(CARD).score(columns)
    reasons = batch.reasons()
    for i in range(0, n, 37):
        one = Scorer(CARD).score({k: v[i:i + 1] for k, v in columns.items()})
        assert (one.scores[0], one.tiers[0], one.reasons()[0]) == (batch.scores[i], batch.tiers[i], reasons[i])
    assert sum(batch.tier_counts().values()) == n


@pytest.mark.parametrize("absent", [None, float("nan"), "", "  "])
def test_missing_category_takes_missing_points_not_the_other_bin(absent: Any) -> None:
    """An empty categorical value is missing: the criterion's missing points and a visible reason, never 'other'."""
    card = parse_scorecard({
        "name": "t", "bands": [{"tier": "A", "min": 0}],
        "criteria": [{"id": "industry", "attribute": "industry", "missing": {"points": 1, "label": "industry unknown"},
                      "bins": [{"values": ["software"], "points": 10, "label": "software"},
                               {"other": True, "points": 5, "label": "industry other"}]}]})
    result = Scorer(card).score({"industry": [absent, "retail", "software"]})
    assert list(result.scores) == [1, 5, 10]
    assert result.reasons()[0] == ["Industry unknown: +1 of 10"] and bool(result.missing[0, 0])
