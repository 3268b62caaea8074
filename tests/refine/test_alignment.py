"""Evidence alignment rate of the hand-written starter card and of the proposed card."""

from __future__ import annotations

from tests.refine.planted import planted_input, starter_card
from worker.refine import Analysis, RefineSettings, alignment
from worker.refine.cohorts import assign_cohorts, build_target
from worker.refine.outcomes import Outcomes


def test_starter_card_alignment_is_computed() -> None:
    """The starter card's items are each judged: its noise criterion and its revenue reward are not backed."""
    data, settings = planted_input(), RefineSettings()
    cohorts = assign_cohorts(data.won, data.health, settings)
    target, definition = build_target(data.won, cohorts, settings)
    card = starter_card()
    current = alignment(card, data, Outcomes.build(data, cohorts, target), settings, definition.name, "current")
    assert current.total == len(card.criteria) + len(card.exclusions)
    assert current.rate is not None and current.rate == current.backed / current.total
    verdict = {item.id: item for item in current.items}
    assert verdict["industry"].backed
    assert verdict["data_warehouse"].backed
    assert verdict["seed_stage"].backed
    assert not verdict["web_visits"].backed
    assert not verdict["annual_revenue"].backed
    assert 0 < current.rate < 1


def test_proposed_card_alignment_is_in_sample(analysis: Analysis) -> None:
    """The proposed card is measured too, flagged as in-sample."""
    proposed = analysis.alignment_of("proposed")
    assert proposed is not None and proposed.in_sample
    assert proposed.rate == 1.0


def test_missing_attribute_is_not_backed(analysis: Analysis) -> None:
    """A criterion on an attribute absent from the data is not backed, and says why."""
    from worker.refine.alignment import alignment
    from worker.refine.cohorts import assign_cohorts, build_target
    from worker.refine.outcomes import Outcomes
    from worker.score.scorecard import parse_scorecard

    card = parse_scorecard(
        {
            "name": "absent",
            "criteria": [
                {"id": "x", "attribute": "not_there", "bins": [{"other": True, "points": 10, "label": "any"}]}
            ],
            "bands": [{"tier": "A", "min": 0}],
        }
    )
    data = planted_input()
    cohorts = assign_cohorts(data.won, data.health, analysis.settings)
    target, definition = build_target(data.won, cohorts, analysis.settings)
    result = alignment(card, data, Outcomes.build(data, cohorts, target), analysis.settings, definition.name, "current")
    assert result.rate == 0.0
    assert "not in the data" in result.items[0].reason
