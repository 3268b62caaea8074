"""The proposed scorecard is a valid document with integer points, 0-100 scores and its evidence."""

from __future__ import annotations

import json

import numpy as np

from tests.refine.planted import planted_analysis, planted_input
from worker.refine import Analysis
from worker.score.scorecard import Scorer, dump_scorecard, load_scorecard, parse_scorecard


def test_points_are_integers_and_the_range_is_0_to_100(analysis: Analysis) -> None:
    """Every bin gives integer points, the total stays within 0-100, and base-rate deals sit near the middle."""
    card = analysis.proposed
    assert card is not None and card.kind == "evidence"
    for criterion in card.criteria:
        for value in [b.points for b in criterion.bins] + [criterion.missing.points]:
            assert isinstance(value, int) and value >= 0
    assert card.base_points + sum(c.max_points for c in card.criteria) <= 100
    assert 0 <= card.base_points + sum(c.min_points for c in card.criteria) < 50
    assert 50 < card.base_points + sum(c.max_points for c in card.criteria) <= 100


def test_card_round_trips_through_yaml(analysis: Analysis) -> None:
    """The card re-loads through the scorecard loader unchanged."""
    card = analysis.proposed
    assert card is not None
    reloaded = load_scorecard(dump_scorecard(card))
    assert reloaded == card
    assert parse_scorecard(card.model_dump(mode="json")) == card


def test_scores_of_every_account_stay_in_range(analysis: Analysis) -> None:
    """Scoring the live accounts and the closed deals gives scores within 0-100."""
    card = analysis.proposed
    assert card is not None
    data = planted_input()
    population = {name: column.values for name, column in data.population.columns.items()}
    for columns in (population, data.scoring_columns()):
        scores = Scorer(card).score(columns).scores
        assert scores.min() >= 0 and scores.max() <= 100


def test_every_criterion_and_exclusion_carries_its_evidence(analysis: Analysis) -> None:
    """Each proposed criterion records n, wins, rates with intervals, lift, IV, q-value and deal ids."""
    card = analysis.proposed
    assert card is not None
    for criterion in card.criteria:
        evidence = criterion.evidence
        assert evidence is not None
        assert evidence["target"] == "good_customer"
        assert evidence["n"] == analysis.n_deals and evidence["won"] > 0
        assert evidence["q_value"] <= analysis.settings.alpha
        assert evidence["information_value"] >= analysis.settings.min_iv
        for bin_evidence in evidence["bins"]:
            assert {"n", "won", "target_rate", "target_ci95", "lift", "woe", "points", "deal_ids"} <= set(bin_evidence)
        assert any(b["deal_ids"] for b in evidence["bins"])
    for exclusion in card.exclusions:
        assert exclusion.evidence is not None and exclusion.evidence["q_value"] <= analysis.settings.alpha
    assert card.dimension_weights is not None
    assert abs(sum(card.dimension_weights.values()) - 1) < 1e-3


def test_points_follow_the_evidence_within_each_criterion(analysis: Analysis) -> None:
    """Within a criterion, a bin with a higher WoE never gets fewer points."""
    for criterion in analysis.selected:
        ordered = sorted(criterion.bins, key=lambda b: b.woe)
        points = [b.points for b in ordered]
        assert points == sorted(points)


def test_analysis_serialises_to_json_deterministically(analysis: Analysis) -> None:
    """to_json() is plain JSON, and a second run with the same seed gives the same document."""
    document = analysis.to_json()
    text = json.dumps(document, allow_nan=False)
    assert document["status"] == "proposed"
    assert set(document) >= {
        "readiness",
        "criteria",
        "exclusions",
        "validation",
        "segments",
        "triggers",
        "lost_deal_types",
        "surprises",
        "quotes",
        "impact",
        "alignment",
        "proposed",
    }
    planted_analysis.cache_clear()
    again = planted_analysis()
    assert json.dumps(again.to_json(), allow_nan=False) == text


def test_numeric_bins_are_round_numbers(analysis: Analysis) -> None:
    """Numeric cut points are the roundest numbers giving the same split (two significant digits or so)."""
    for criterion in analysis.selected:
        for b in criterion.bins:
            for edge in (b.low, b.high):
                if edge is not None and edge != 0:
                    digits = len(f"{abs(edge):.10g}".replace(".", "").strip("0"))
                    assert digits <= 4, edge
    employees = next(c for c in analysis.criteria if c.attribute == "employees")
    assert np.isfinite([b.n for b in employees.bins]).all()
