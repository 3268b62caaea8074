"""Loading a scorecard validates it and reports every problem with its path."""

from __future__ import annotations

from typing import Any

import pytest

from worker.score.scorecard import ScorecardError, dump_scorecard, load_scorecard, parse_scorecard
from worker.settings import DEFAULT_CONFIG


def card(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": "t",
        "criteria": [{"id": "size", "attribute": "employees", "bins": [
            {"range": [None, 100], "points": 0, "label": "small"},
            {"range": [100, None], "points": 60, "label": "large"}]}],
        "bands": [{"tier": "A", "min": 50}, {"tier": "B", "min": 0}],
    }
    document.update(changes)
    return document


def problems_of(document: dict[str, Any]) -> list[str]:
    with pytest.raises(ScorecardError) as caught:
        parse_scorecard(document)
    return caught.value.problems


def test_starter_scorecard_loads_and_round_trips() -> None:
    """The shipped starter scorecard is valid and survives dump → load unchanged."""
    starter = load_scorecard(DEFAULT_CONFIG / "starter-scorecard.yaml")
    assert starter.tiers == ["A", "B", "C", "D"]
    assert load_scorecard(dump_scorecard(starter)) == starter


@pytest.mark.parametrize(("change", "expected"), [
    ({"bands": [{"tier": "A", "min": 50}]}, "bands: one band must start at 0"),
    ({"criteria": [{"id": "Bad Id", "attribute": "x", "bins": [{"other": True, "points": 1, "label": "x"}]}]},
     "criteria[0].id"),
    ({"criteria": [{"id": "x", "attribute": "x", "bins": [{"points": 1, "label": "x"}]}]}, "criteria[0].bins[0]"),
    ({"criteria": [{"id": "x", "attribute": "x", "bins": [
        {"range": [0, 10], "points": 1, "label": "a"}, {"range": [5, 20], "points": 2, "label": "b"}]}]},
     "criteria[0].bins[1].range overlaps criteria[0].bins[0].range"),
    ({"criteria": [{"id": "x", "attribute": "x", "bins": [
        {"values": ["a", "B"], "points": 1, "label": "a"}, {"values": ["b"], "points": 2, "label": "b"}]}]},
     "criteria[0].bins[1].values: 'b' is already in criteria[0].bins[0]"),
    ({"base_points": 50}, "points can add up to 110"),
    ({"exclusions": [{"id": "e", "label": "e", "when": {"attribute": "x", "values": ["y"]},
                      "effect": {"cap_tier": "Z"}}]}, "exclusions[0].effect.cap_tier: 'Z' is not a tier"),
    ({"exclusions": [{"id": "e", "label": "e", "when": {"attribute": "x", "values": ["y"]},
                      "effect": {"points": 10}}]}, "exclusions[0].effect.points"),
    ({"surprise": 1}, "surprise"),
])
def test_invalid_documents_name_the_path(change: dict[str, Any], expected: str) -> None:
    """Each kind of mistake is reported with where it is in the document."""
    assert any(expected in p for p in problems_of(card(**change))), problems_of(card(**change))


def test_every_problem_is_reported_at_once() -> None:
    """Several independent mistakes come back together, not one per attempt."""
    document = card(bands=[{"tier": "A", "min": 50}, {"tier": "A", "min": 40}])
    found = problems_of(document)
    assert any("named twice" in p for p in found) and any("start at 0" in p for p in found)


def test_yaml_syntax_error_is_a_scorecard_error() -> None:
    """Broken YAML is reported as such, not as a crash."""
    with pytest.raises(ScorecardError, match="not valid YAML"):
        load_scorecard("name: [unclosed\ncriteria: 1\n")
