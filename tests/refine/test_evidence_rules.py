"""Issue 9 rules: leakage by evidence, validation design that fits the data, unknown as evidence, never a step back."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.refine.planted import planted_analysis, planted_input
from worker.refine import RefineSettings, refine
from worker.refine.binning import Binning
from worker.refine.criteria import _missing_woe
from worker.refine.design import choose_design, group_keys, kfold_splits
from worker.refine.leakage import judge
from worker.refine.stats import auc_delong, auc_difference
from worker.refine.timing import AttributeTiming
from worker.refine.vocabulary import plural

SETTINGS = RefineSettings()
DAY = 86_400.0


def test_strength_alone_is_not_leakage() -> None:
    """A strong attribute is proposed with a request to confirm its timing; evidence holds it back, with why."""
    strong = judge("existing_customer", 1.4, 0.78, None, SETTINGS)
    assert strong.reason is None and strong.confirm and "confirm it is known before a deal closes" in strong.confirm
    assert judge("existing_customer", 1.4, 0.78, AttributeTiming("before_close"), SETTINGS).confirm is None
    declared = judge("renewal_flag", 0.3, 0.6, AttributeTiming("after_close"), SETTINGS)
    assert declared.rule == "after_close" and "known: after_close" in (declared.reason or "")
    history = judge("tier", 0.3, 0.6, AttributeTiming(None, 40, 12), SETTINGS)
    assert history.rule == "after_close" and "12 of 40 deals checked (30%" in (history.reason or "")
    assert judge("tier", 0.3, 0.6, AttributeTiming(None, 40, 4), SETTINGS).reason is None
    assert judge("tier", 0.3, 0.6, AttributeTiming(None, 3, 3), SETTINGS).reason is None
    separated = judge("onboarding_score", 5.0, 0.99, None, SETTINGS)
    assert separated.rule == "perfect_separation" and "99%" in (separated.reason or "")


def test_planted_strong_attribute_is_proposed_and_flagged() -> None:
    """The planted world's strongest driver stays in the card even when its IV threshold is set below it."""
    settings = RefineSettings(suspicious_iv=0.05)
    analysis = refine(planted_input(), settings)
    assert analysis.selected and not [c for c in analysis.criteria if c.rule == "possible_leakage"]
    assert all(c.confirm_timing for c in analysis.selected if c.iv > 0.05)
    assert any("confirm it is known before a deal closes" in r for r in analysis.flags)
    assert not analysis.risks


def test_declared_after_close_is_held_back_with_its_reason() -> None:
    data = replace(planted_input(), timing={"industry": AttributeTiming("after_close")})
    analysis = refine(data, SETTINGS)
    industry = next(c for c in analysis.criteria if c.attribute == "industry")
    assert industry.status == "under_review" and industry.rule == "after_close"
    assert "known: after_close" in industry.reason


def _closed(days: np.ndarray) -> np.ndarray:
    return 1.7e9 + days * DAY


def test_out_of_time_only_when_dates_truly_separate() -> None:
    target = np.tile([True, False, False], 400)[:1000]
    spread = choose_design(_closed(np.arange(1000) % 300), target, SETTINGS)
    assert spread.method == "out_of_time" and spread.split is not None
    days = np.floor(_closed(np.arange(1000) % 300) / DAY)
    assert days[spread.split.train].max() < days[spread.split.test].min()
    tied = choose_design(_closed(np.zeros(1000)), target, SETTINGS)
    assert tied.method == "repeated_kfold" and "1 distinct day" in tied.reason
    few = choose_design(_closed(np.arange(1000) % 5), target, SETTINGS)
    assert few.method == "repeated_kfold"
    undated = _closed(np.arange(1000) % 300)
    undated[3] = np.nan
    assert "no close date" in choose_design(undated, target, SETTINGS).reason


def test_kfold_keeps_accounts_together_and_stratifies() -> None:
    accounts = np.array([f"a{i // 3}" for i in range(600)], dtype=object)
    target = np.random.default_rng(1).random(600) < 0.3
    groups = group_keys(accounts)
    splits = list(kfold_splits(groups, target, 5, seed=3))
    assert len(splits) == 5
    for split in splits:
        assert not set(groups[split.train]) & set(groups[split.test])
        assert abs(target[split.test].mean() - target.mean()) < 0.1
    assert sorted(np.concatenate([s.test for s in splits]).tolist()) == list(range(600))


def test_undated_tied_evidence_validates_by_kfold() -> None:
    """Every deal closed the same day: k-fold over at least five fits, and the drivers are still found."""
    data = planted_input(1000)
    tied = replace(data, closed_at=np.full(len(data), data.closed_at.max()))
    analysis = refine(tied, RefineSettings(kfold_repeats=1))
    assert analysis.validation is not None and analysis.validation.method == "repeated_kfold"
    assert "distinct day" in analysis.validation.reason
    assert len(analysis.validation.selected_per_fit) >= 5
    assert {"industry", "uses_data_warehouse"} <= {c.attribute for c in analysis.selected}


def test_unknown_never_scores_above_a_known_value_without_evidence() -> None:
    binning = Binning("source", "categorical", groups=(("a",), ("b",)))
    woe = np.array([-0.5, 0.8, 0.0, 0.9])
    n = np.array([200.0, 200.0, 0.0, 40.0])
    pos = np.array([40.0, 120.0, 0.0, 20.0])
    assert _missing_woe(woe, pos, n, binning, 30)[3] == 0.8  # beats a (50% vs 20%), not b (60%)
    unconvincing = _missing_woe(woe, np.array([40.0, 120.0, 0.0, 10.0]), n, binning, 30)
    assert unconvincing[3] == -0.5  # 25% of 40 is not significantly above a's 20%
    small = _missing_woe(np.array([-0.5, 0.8, 0.0, 0.0]), pos, np.array([200.0, 200.0, 0.0, 5.0]), binning, 30)
    assert small[3] == -0.5
    informative = _missing_woe(np.array([-0.5, 0.1, 0.0, 1.5]), np.array([40.0, 60.0, 0.0, 150.0]),
                               np.array([200.0, 200.0, 0.0, 200.0]), binning, 30)
    assert informative[3] == 1.5


def test_paired_auc_difference_matches_the_separate_aucs() -> None:
    rng = np.random.default_rng(0)
    y = rng.random(500) < 0.4
    a = y * 1.0 + rng.normal(0, 1, 500)
    b = y * 0.5 + rng.normal(0, 1, 500)
    diff = auc_difference(a, b, y)
    assert diff.first == pytest.approx(auc_delong(a, y).auc) and diff.second == pytest.approx(auc_delong(b, y).auc)
    assert diff.low < diff.difference < diff.high and diff.difference > 0
    same = auc_difference(a, a, y)
    assert same.difference == 0 and same.p_value == 1.0


def test_a_proposal_that_does_not_beat_the_version_in_force_is_no_improvement() -> None:
    """Refining again with the engine's own card in force cannot beat it: status, headline and risks say so."""
    first = planted_analysis(1000, with_starter=False)
    assert first.proposed is not None and first.status == "proposed"
    again = refine(planted_input(1000), RefineSettings(), current=first.proposed)
    assert again.status == "no_improvement" and again.proposed is not None
    assert again.headline.startswith("No improvement over the version in force")
    assert "against" in again.headline and "95% CI" in again.headline and "--accept-risks" in again.headline
    counts = plural(len(again.proposed.criteria), "criterion", "criteria")
    assert f"({counts} and {plural(len(again.proposed.exclusions), 'exclusion')}.)" in again.headline
    assert again.risks and again.risks[0].startswith("no_improvement")
    assert again.to_json()["risks"] == list(again.risks)


def test_one_binary_criterion_is_not_limited_to_0_or_100() -> None:
    """A card resting on one yes/no criterion scores around the middle, and its tiers follow the scores."""
    from worker.refine.worlds import drivers_world

    data = drivers_world(1500, 1).input()
    columns = {k: v for k, v in data.account_columns.items() if k == "uses_data_warehouse"}
    analysis = refine(replace(data, account_columns=columns), RefineSettings())
    card = analysis.proposed
    assert card is not None and len(card.criteria) == 1
    scores = sorted({card.base_points + b.points for b in card.criteria[0].bins})
    assert 30 < scores[0] < 50 < scores[-1] < 70
    assert any("single dimension" in r for r in analysis.flags)


def test_a_record_with_mostly_missing_data_is_not_tier_a(analysis) -> None:  # type: ignore[no-untyped-def]
    """An account with every scored attribute unknown lands in the lowest tiers, never in the best."""
    from worker.score.scorecard import Scorer

    card = analysis.proposed
    assert card is not None
    empty = {c.attribute: np.array([None], dtype=object) for c in card.criteria}
    result = Scorer(card).score(empty, n=1)
    best = max(card.bands, key=lambda b: b.min).tier
    assert result.tiers[0] != best
    known_best = card.base_points + sum(c.max_points for c in card.criteria)
    assert int(result.scores[0]) < (known_best + card.base_points) / 2
