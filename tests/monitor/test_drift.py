"""The pure drift assessment: planted shifts raise the alarm, clean months and small samples do not."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from tests.monitor import synth
from tests.refine.planted import planted_analysis
from worker.monitor import (
    ClosedDeals,
    DriftReport,
    DriftSettings,
    TierExpectation,
    assess_drift,
    baseline_from_evidence,
    expectations_from_evidence,
)
from worker.monitor.baseline import IMPACT, SNAPSHOT

FALSE_ALARM_SEEDS = range(100)


def _assess(seed: int, *, n_deals: int = 400, win_rates: dict[str, float] | None = None,
            healthy_rates: dict[str, float] | None = None, scores: tuple[float, ...] = synth.SCORE_SHARES,
            criteria: dict[str, tuple[float, ...]] | None = None, age_days: float = 30,
            expected: dict[str, TierExpectation] | None = None) -> DriftReport:
    rng = np.random.default_rng(seed)
    baseline = synth.population(rng, 3000, source=SNAPSHOT)
    current = synth.population(rng, 3000, scores=scores, criteria=criteria or synth.CRITERIA)
    closed = synth.month(rng, n_deals, win_rates or synth.WIN_RATES, healthy_rates or synth.HEALTHY_RATES)
    return assess_drift(baseline, current, closed, synth.evidence(rng) if expected is None else expected,
                        tiers=synth.TIERS, age_days=age_days, version=3)


def test_clean_months_rarely_raise_the_alarm() -> None:
    """Months drawn from the same truth as the evidence: about 1% false alarms (at most 3 in 100 months).

    Eight tier tests per month at alpha 0.01 without Holm's correction would alarm about 5 times in 100.
    """
    reports = [_assess(seed) for seed in FALSE_ALARM_SEEDS]
    false_alarms = [r.reasons for r in reports if r.alarm]
    assert len(false_alarms) <= 3, false_alarms
    assert all(r.score is not None and r.score.reading == "no significant change" for r in reports)
    assert all(o.win.p_value is not None for r in reports for o in r.tiers)


def test_top_tier_win_rate_drop_raises_the_alarm() -> None:
    """Top-tier win rate 45% -> 15% in a month of 1,000 deals (~100 top-tier): the alarm in at least 18 of 20
    seeds (its power is about 98%), naming tier A and the direction."""
    reports = [_assess(seed, n_deals=1000, win_rates={**synth.WIN_RATES, "A": 0.15}) for seed in range(20)]
    alarms = [r for r in reports if r.alarm]
    assert len(alarms) >= 18
    for report in alarms:
        a = report.tiers[0]
        assert report.needs_review and not report.stale
        assert a.tier == "A" and a.win.significant and a.win.difference is not None and a.win.difference < -0.15
        assert any(r.startswith("Tier A won") and "below" in r and "v3" in r for r in report.reasons)


def test_worse_health_raises_the_alarm() -> None:
    report = _assess(1, n_deals=800, healthy_rates={**synth.HEALTHY_RATES, "B": 0.3})
    assert report.alarm
    assert any("Tier B" in r and "healthy" in r for r in report.reasons)


def test_score_distribution_shift_raises_the_alarm() -> None:
    shifted = (0.01, 0.01, 0.02, 0.04, 0.07, 0.12, 0.18, 0.22, 0.18, 0.15)
    report = _assess(2, scores=shifted)
    assert report.alarm and report.score is not None
    assert report.score.psi >= 0.25 and report.score.reading == "significant change"
    assert any("score distribution shifted" in r and "PSI" in r for r in report.reasons)


def test_moderate_shift_reads_investigate_without_alarm() -> None:
    moderate = (0.02, 0.03, 0.06, 0.10, 0.14, 0.17, 0.16, 0.13, 0.10, 0.09)
    report = _assess(12, scores=moderate)
    assert report.score is not None and report.score.reading == "investigate"
    assert not report.alarm
    assert any("investigate" in n for n in report.notes)


def test_criterion_shift_is_named() -> None:
    criteria = {**synth.CRITERIA, "industry": (0.05, 0.15, 0.3, 0.5)}
    report = _assess(4, criteria=criteria)
    by_id = {c.id: c.stability for c in report.criteria}
    assert by_id["industry"].reading == "significant change" and by_id["employees"].psi < 0.1
    assert report.alarm and any("Criterion 'industry' shifted" in r for r in report.reasons)


def test_small_samples_do_not_alarm() -> None:
    """Even a collapsed top tier does not alarm on 20 deals: "not enough closed deals yet"."""
    report = _assess(5, n_deals=20, win_rates={"A": 0.0, "B": 0.0, "C": 0.0, "D": 1.0})
    assert not report.alarm
    assert any(n.startswith("Not enough closed deals yet") for n in report.notes)
    assert all(o.win.p_value is None and o.win.not_tested for o in report.tiers)


def test_thin_tier_is_reported_not_tested() -> None:
    report = _assess(6, n_deals=120)
    a = report.tiers[0]
    assert a.win.n < 20 and a.win.p_value is None and "tested from 20" in (a.win.not_tested or "")
    assert any("Tier A win rate not tested" in n for n in report.notes)


def test_stale_version_is_flagged() -> None:
    report = _assess(7, age_days=120)
    assert report.stale and not report.alarm and report.needs_review
    assert any("120 days" in r and "91-day review cadence" in r for r in report.reasons)
    assert "due for its scheduled review" in report.headline
    assert not _assess(7, age_days=90).stale


def test_no_baseline_and_no_evidence_say_so() -> None:
    rng = np.random.default_rng(8)
    current = synth.population(rng, 2000)
    closed = synth.month(rng, 400, {**synth.WIN_RATES, "A": 0.0})
    report = assess_drift(None, current, closed, {}, tiers=synth.TIERS, age_days=10)
    assert report.score is None and report.criteria == () and not report.alarm
    assert any(n.startswith("No baseline") for n in report.notes)
    assert any("predicts no win rates" in n for n in report.notes)
    assert report.tiers[0].win.rate == 0.0


def test_outside_icp_lists_wins_and_losses() -> None:
    closed = ClosedDeals.of(["D", "D", "A", "A", "B", None], [True, False, False, True, True, True],
                            deal_ids=["w1", "l1", "l2", "w2", "w3", "w4"])
    rng = np.random.default_rng(9)
    report = assess_drift(None, synth.population(rng, 500), closed, synth.evidence(rng), tiers=synth.TIERS)
    found = report.outside_icp
    assert (found.wins_outside, found.wins_outside_deal_ids) == (1, ("w1",))
    assert (found.losses_inside, found.losses_inside_deal_ids) == (1, ("l2",))
    assert found.wins == 4 and found.losses == 2 and found.expected_share_outside is not None


def test_report_is_json_ready() -> None:
    report = _assess(10, win_rates={**synth.WIN_RATES, "A": 0.15})
    plain = json.loads(json.dumps(report.to_json()))
    for key in ("alarm", "stale", "reasons", "notes", "score", "criteria", "tiers", "outside_icp", "needs_review",
                "headline", "age_days", "cadence_days", "closed_deals"):
        assert key in plain
    tier = plain["tiers"][0]
    assert set(tier["win"]) >= {"k", "n", "rate", "ci", "expected_rate", "p_value", "p_adjusted", "significant",
                                "difference"}
    assert plain["score"]["reading"] in ("no significant change", "investigate", "significant change")
    text = report.text()
    assert text.startswith("ICP drift on v3") and all(r in text for r in report.reasons)


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError):
        DriftSettings(psi_investigate=0.3, psi_alarm=0.2)
    stricter = DriftSettings(min_closed_deals=1000)
    report = assess_drift(None, synth.population(np.random.default_rng(0), 500),
                          synth.month(np.random.default_rng(0), 400), {}, stricter, tiers=synth.TIERS)
    assert any("checked from 1000" in n for n in report.notes)


def test_evidence_of_a_real_refinement_is_read() -> None:
    """The planted refinement's stored JSON gives expectations per tier and the impact-preview fallback."""
    analysis = planted_analysis()
    assert analysis.proposed is not None
    evidence = analysis.to_json()
    expected = expectations_from_evidence(evidence)
    assert list(expected) == analysis.proposed.tiers
    band = analysis.in_sample_bands[0]
    assert expected[band.tier].win_rate == pytest.approx(band.won_rate)
    assert expected[band.tier].healthy_rate == pytest.approx(band.positives / band.won)
    fallback = baseline_from_evidence(evidence, analysis.proposed)
    assert fallback is not None and fallback.source == IMPACT and fallback.score_counts is None
    assert fallback.n == sum(fallback.tier_counts.values())  # type: ignore[union-attr]
    assert baseline_from_evidence({}, analysis.proposed) is None
    scores_only = baseline_from_evidence({"baseline": {"scores": [1] * 10}}, analysis.proposed)
    assert scores_only is not None and scores_only.source == SNAPSHOT and scores_only.n == 10


def test_tier_mix_fallback_is_compared_on_tiers() -> None:
    rng = np.random.default_rng(11)
    current = synth.population(rng, 3000)
    baseline = replace(current, source=IMPACT, score_counts=None, score_edges=None, criteria=None,
                       tier_counts={"A": 900, "B": 900, "C": 600, "D": 600})
    report = assess_drift(baseline, current, synth.month(rng, 400), synth.evidence(rng), tiers=synth.TIERS)
    assert report.score is not None and report.score.basis == "tiers" and report.alarm
    assert any("tier mix" in n for n in report.notes)
