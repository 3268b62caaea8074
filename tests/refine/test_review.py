"""Lost-deal types, surprises, quotes, segments and the impact preview."""

from __future__ import annotations

from tests.refine.planted import planted_input
from worker.refine import Analysis
from worker.refine.review import loss_kind


def test_lost_deal_types_cover_every_lost_deal(analysis: Analysis) -> None:
    types = analysis.lost_deal_types
    assert types is not None and types.scored_with == analysis.proposed.name
    assert sum(t.n for t in types.types) == types.n_lost == analysis.readiness.lost
    kinds = {t.kind: t for t in types.types}
    assert kinds["right_fit_competitor"].top_competitors
    assert kinds["wrong_fit"].n > 0


def test_loss_reasons_are_classified() -> None:
    assert loss_kind("lost to competitor", None) == "competitor"
    assert loss_kind("other", "acme") == "competitor"
    assert loss_kind("no decision", None) == "no_decision"
    assert loss_kind("budget frozen", None) == "no_decision"
    assert loss_kind("other", None) == "other"
    assert loss_kind(None, None) == "other"


def test_surprises_are_wins_scoring_low_and_losses_scoring_high(analysis: Analysis) -> None:
    surprises = analysis.surprises
    assert surprises is not None
    assert surprises.wins and surprises.losses
    assert all(s.outcome == "won" and s.score < surprises.win_max_score for s in surprises.wins)
    assert all(s.outcome == "lost" and s.score >= surprises.loss_min_score for s in surprises.losses)
    assert len(surprises.wins) <= analysis.settings.max_surprises
    assert all(s.reasons for s in surprises.wins)


def test_quotes_come_from_notes_on_analysed_deals(analysis: Analysis) -> None:
    data = planted_input()
    deal_ids = set(data.deal_ids.tolist())
    assert analysis.quotes
    assert {q.kind for q in analysis.quotes} == {"win", "loss", "churn"}
    assert all(q.deal_id in deal_ids for q in analysis.quotes)


def test_segments_report_different_economics(analysis: Analysis) -> None:
    segments = analysis.segments
    assert segments is not None and segments.found
    assert segments.q_value is not None and segments.q_value <= analysis.settings.alpha
    sizes = [c.median_deal_size for c in segments.cells if c.median_deal_size]
    assert max(sizes) > 1.3 * min(sizes)
    assert all(c.won >= analysis.settings.min_bin_count for c in segments.cells)


def test_impact_preview_counts_tier_changes(analysis: Analysis) -> None:
    impact = analysis.impact
    data = planted_input()
    assert impact is not None and impact.compared_with == "Starter hypothesis scorecard"
    assert impact.accounts == len(data.population)
    assert sum(m.accounts for m in impact.moves) == impact.accounts
    assert impact.accounts_changing == sum(m.accounts for m in impact.moves if m.changed)
    assert impact.upgrades + impact.downgrades == impact.accounts_changing
    assert 0 < impact.pipeline_changing <= impact.open_pipeline
    assert impact.open_pipeline == data.population.open_pipeline.sum()
    assert sum(impact.proposed_tiers.values()) == impact.accounts
