"""Stop gates: too little evidence stops the run unless forced, and forced output is a hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.refine.planted import planted_crm, starter_card
from worker.ingest.records import AccountRecord, DealRecord
from worker.refine import RefinementInput, RefineSettings, assess_readiness, refine
from worker.refine.brief import render_brief


def _small_input(n_deals: int = 30) -> RefinementInput:
    crm = planted_crm(n_deals=n_deals, seed=3)
    return RefinementInput.from_records(crm.accounts, crm.deals, crm.notes, crm.now)


def test_below_minimums_the_run_stops_with_reasons() -> None:
    """Fewer than 20 wins or losses: status stopped, the reasons named, nothing proposed."""
    data = _small_input()
    assert min(int(data.won.sum()), int((~data.won).sum())) < 20
    analysis = refine(data, RefineSettings(), current=starter_card())
    assert analysis.status == "stopped"
    assert analysis.proposed is None and not analysis.criteria and analysis.validation is None
    assert analysis.readiness.stop_reasons
    assert any("closed-won" in r or "closed-lost" in r for r in analysis.readiness.stop_reasons)
    assert "stopped" in analysis.headline.lower()
    html = render_brief(analysis, "v2", "html")
    assert "Stopped: not enough evidence to propose a scorecard yet" in html


def test_forced_run_is_marked_hypothesis() -> None:
    """force=True runs the analysis anyway and marks every output as a hypothesis."""
    analysis = refine(_small_input(), RefineSettings(), current=starter_card(), force=True)
    assert analysis.status == "hypothesis"
    assert analysis.criteria
    assert analysis.proposed is None or analysis.proposed.kind == "hypothesis"
    assert "HYPOTHESIS" in analysis.headline
    markdown = render_brief(analysis, "v2", "md")
    assert "Hypothesis only, not evidence" in markdown.split("What changes")[0]


def test_minimums_are_configurable() -> None:
    """Lower minimums let the same data pass the gates."""
    data = _small_input()
    settings = RefineSettings(min_wins=5, min_losses=5)
    assert assess_readiness(data, settings).passed
    assert not assess_readiness(data, RefineSettings()).passed


def test_readiness_counts_window_and_evidence_quality() -> None:
    """Counts closed deals in the window (and undated closed deals, which are analysed, not dropped); reports
    generic loss reasons and health coverage."""
    crm = planted_crm()
    now = crm.now
    extra = [
        DealRecord(id="OLD", account_id="A000001", outcome="won", closed_at=now - timedelta(days=800)),
        DealRecord(id="FUTURE", account_id="A000001", outcome="lost", closed_at=now + timedelta(days=5)),
        DealRecord(id="UNDATED", account_id="A000001", outcome="lost"),
        DealRecord(id="GONE", account_id="A000001", outcome="won", closed_at=now, deleted=True),
    ]
    data = RefinementInput.from_records(crm.accounts, [*crm.deals, *extra], crm.notes, now)
    readiness = assess_readiness(data, RefineSettings())
    assert readiness.excluded_deals["closed before the window"] == 1
    assert readiness.excluded_deals["closed after now"] == 1
    assert "no close date" not in readiness.excluded_deals and "UNDATED" in set(data.deal_ids)
    assert readiness.excluded_deals["deleted"] == 1
    assert readiness.excluded_deals["open"] == len([d for d in crm.deals if d.outcome == "open"])
    assert readiness.won + readiness.lost == len(data) == 2001
    assert readiness.generic_loss_share is not None and 0.1 < readiness.generic_loss_share < 0.5
    assert readiness.accounts_with_retention <= readiness.won_accounts
    assert readiness.passed


def test_evidence_quality_can_gate() -> None:
    """With evidence_quality_blocks, missing loss reasons stop the run like too few deals do."""
    crm = planted_crm()
    blank = [DealRecord(**{**d.__dict__, "loss_reason": None, "competitor": None}) for d in crm.deals]
    data = RefinementInput.from_records(crm.accounts, blank, crm.notes, crm.now)
    warn_only = assess_readiness(data, RefineSettings())
    assert warn_only.passed and warn_only.warnings
    gated = assess_readiness(data, RefineSettings(evidence_quality_blocks=True))
    assert not gated.passed
    assert any("loss reason" in r for r in gated.stop_reasons)


def test_window_is_calendar_months_before_now() -> None:
    """The window starts the configured number of calendar months before now."""
    crm = planted_crm()
    now = datetime(2025, 3, 31, 12, tzinfo=UTC)
    data = RefinementInput.from_records(crm.accounts, crm.deals, crm.notes, now, window_months=1)
    assert data.window_start == datetime(2025, 2, 28, 12, tzinfo=UTC)
    assert (data.closed_at >= data.window_start.timestamp()).all()
    assert (data.closed_at <= now.timestamp()).all()


def test_without_health_data_the_target_falls_back_to_winning() -> None:
    """No health data: good customers cannot be told from won deals, and the analysis says so."""
    crm = planted_crm()
    bare = [AccountRecord(**{**a.__dict__, "health": {}}) for a in crm.accounts]
    data = RefinementInput.from_records(bare, crm.deals, crm.notes, crm.now)
    analysis = refine(data, RefineSettings())
    assert analysis.target is not None
    assert analysis.target.requested == "good_customer" and analysis.target.name == "won"
    assert analysis.target.fallback_reason
    assert any("fallback" in m.lower() for m in analysis.messages)
    assert not analysis.exclusions
    assert "retention status" in " ".join(analysis.readiness.warnings)


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError):
        RefineSettings(exclusion_cap_tier="Z")
    with pytest.raises(ValueError):
        RefineSettings(alpha=0)
    assert RefineSettings().min_bin_size(10_000) == 500
    assert RefineSettings().min_bin_size(100) == 30
