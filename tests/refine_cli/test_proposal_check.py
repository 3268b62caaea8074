"""Every proposal path checks the scorecard against the mapping's attributes and types before storing it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from sqlalchemy import Engine

from tests.contract.harness import HubSpotHarness, hubspot_harness, ready_context
from worker.context import Context
from worker.govern import proposals
from worker.govern.proposals import run_refinement, store_proposal
from worker.operate.cycle import utcnow
from worker.refine import Analysis
from worker.score.scorecard import Scorecard, ScorecardError, load_scorecard, parse_scorecard
from worker.settings import DEFAULT_CONFIG


@pytest.fixture
def ctx(engine: Engine) -> Iterator[Context]:
    with hubspot_harness(accounts=20) as harness:
        hs: HubSpotHarness = harness
        yield ready_context(engine, hs.connector)


def _with_attribute(card: Scorecard, old: str, new: str) -> Scorecard:
    document = card.model_dump(mode="json", exclude_none=True)
    for criterion in document["criteria"]:
        if criterion["attribute"] == old:
            criterion["attribute"] = new
    return parse_scorecard(document, source="test card")


def test_a_proposal_naming_an_unmapped_attribute_is_refused(ctx: Context) -> None:
    card = _with_attribute(load_scorecard(DEFAULT_CONFIG / "starter-scorecard.yaml"), "industry", "industy")
    with pytest.raises(ScorecardError, match="did you mean 'industry'"):
        store_proposal(ctx, card, by="icp refine", now=utcnow(), evidence={})
    assert ctx.versions.pending() == []


def test_an_engine_proposal_goes_through_the_check(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    """``icp refine`` stores nothing when its proposed card does not fit the mapping (here: an unmapped field)."""
    starter = load_scorecard(DEFAULT_CONFIG / "starter-scorecard.yaml")
    bad = _with_attribute(starter, "employees", "headcount_estimate")
    engine_refine = proposals.refine

    def proposing(card: Scorecard) -> Callable[..., Analysis]:
        return lambda *args, **kwargs: replace(engine_refine(*args, **kwargs), status="proposed", proposed=card)

    monkeypatch.setattr(proposals, "refine", proposing(bad))
    with pytest.raises(ScorecardError, match=r"criteria\[\d\] \(employees\)\.attribute: 'headcount_estimate'"):
        run_refinement(ctx)
    assert ctx.versions.pending() == []
    monkeypatch.setattr(proposals, "refine", proposing(starter))
    outcome = run_refinement(ctx)
    assert outcome.version is not None and outcome.version.status == "proposed"
