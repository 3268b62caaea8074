"""The drift assessment: is the approved version still describing who wins? Pure: no I/O.

Three families of checks, after optbinning's ``ScorecardMonitoring``: stability of the account score
distribution (PSI), stability of every criterion's bin mix (PSI per criterion), and outcomes of the
deals closed since the version took effect (win rate and health by tier, against the version's
evidence). A version older than the review cadence is flagged stale whatever the data says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from worker.monitor.baseline import Distribution, TierExpectation
from worker.monitor.checks import RateCheck
from worker.monitor.outcomes import ClosedDeals, OutsideIcp, TierOutcome, outside_icp, tier_outcomes
from worker.monitor.psi import psi
from worker.monitor.settings import DriftSettings
from worker.monitor.stability import CriterionStability, Stability, criterion_stability, score_stability
from worker.refine.serialize import to_plain

__all__ = ["ClosedDeals", "CriterionStability", "DriftReport", "OutsideIcp", "Stability", "TierOutcome",
           "assess_drift", "psi"]


@dataclass(frozen=True)
class DriftReport:
    """What the monitor found. ``alarm`` means drift; ``stale`` means the review cadence has passed.

    Attributes:
        version: The version assessed.
        alarm: A significant shift in scores, a criterion or outcomes by tier.
        stale: The version has been in force longer than the review cadence.
        reasons: Why the alarm or stale flag is raised, in plain sentences.
        notes: What could not be checked, or is worth a look without alarming.
        score: PSI of the account score distribution (or tier mix) against the baseline, or None.
        criteria: PSI of every criterion's bin mix against the baseline.
        closed_deals: Deals closed since the version took effect (``won`` of them won).
        tiers: Win rate and health per tier, best first.
        outside_icp: Wins outside and losses inside the ICP.
        age_days: Days since the version took effect.
    """

    version: int | None
    alarm: bool
    stale: bool
    reasons: tuple[str, ...]
    notes: tuple[str, ...]
    score: Stability | None
    criteria: tuple[CriterionStability, ...]
    closed_deals: int
    won: int
    tiers: tuple[TierOutcome, ...]
    outside_icp: OutsideIcp
    age_days: float | None
    cadence_days: int
    settings: DriftSettings

    @property
    def needs_review(self) -> bool:
        """Leadership should review (and a refinement run): drift, or the version is due."""
        return self.alarm or self.stale

    @property
    def headline(self) -> str:
        """One sentence for a task subject or a log line."""
        label = f"v{self.version}" if self.version is not None else "the scorecard"
        if self.alarm:
            return f"ICP drift on {label}: {len(self.reasons)} finding(s) need leadership review"
        if self.stale:
            return f"{label} is due for its scheduled review ({self.age_days:.0f} days in force)"
        return f"{label}: no drift found"

    def text(self) -> str:
        """The findings as plain text, e.g. for the body of the leadership review task."""
        lines = [self.headline + ".", ""]
        lines += [f"- {r}" for r in self.reasons]
        if self.notes:
            lines += ["", "Also noted:", *(f"- {n}" for n in self.notes)]
        return "\n".join(lines).rstrip() + "\n"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (stored in the run summary under ``drift``)."""
        plain: dict[str, Any] = to_plain(self)
        plain["needs_review"], plain["headline"] = self.needs_review, self.headline
        return plain


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _ci(check: RateCheck) -> str:
    return f", 95% CI {check.ci[0]:.0%}-{check.ci[1]:.0%}" if check.ci else ""


def _evidence(check: RateCheck) -> str:
    behind = f" ({check.expected_k} of {check.expected_n})" if check.expected_n else ""
    return f"{_pct(check.expected_rate)}{behind}"


def _outcome_reasons(outcomes: Sequence[TierOutcome], label: str, p_name: str) -> list[str]:
    reasons = []
    for o in outcomes:
        w, h = o.win, o.health
        if w.significant:
            direction = "below" if (w.difference or 0) < 0 else "above"
            reasons.append(f"Tier {o.tier} won {w.k} of {w.n} deals closed since {label} took effect "
                           f"({_pct(w.rate)}{_ci(w)}), {direction} the {_evidence(w)} its evidence predicted "
                           f"({p_name} {w.p_adjusted:.2g}).")
        if h.significant:
            reasons.append(f"Tier {o.tier}: {h.k} of {h.n} won accounts with health data are healthy "
                           f"({_pct(h.rate)}{_ci(h)}), below the {_evidence(h)} good-customer share its evidence "
                           f"predicted ({p_name} {h.p_adjusted:.2g}).")
    return reasons


def _stability_reasons(score: Stability | None, criteria: Sequence[CriterionStability],
                       settings: DriftSettings) -> tuple[list[str], list[str]]:
    reasons, notes = [], []
    items = ([("The account score distribution", score)] if score else []) + [
        (f"Criterion '{c.label}'", c.stability) for c in criteria]
    for name, s in items:
        against = f"against the {s.baseline_source}" + (f" of {s.baseline_at[:10]}" if s.baseline_at else "")
        if s.psi >= settings.psi_alarm:
            reasons.append(f"{name} shifted: PSI {s.psi:.2f} {against} ({settings.psi_alarm:g} or more is a "
                           "significant change).")
        elif s.psi >= settings.psi_investigate:
            notes.append(f"{name} moved: PSI {s.psi:.2f} {against} (investigate: {settings.psi_investigate:g}-"
                         f"{settings.psi_alarm:g}).")
    return reasons, notes


def _share(part: int, whole: int, expected: float | None) -> str:
    seen = f" ({part / whole:.0%})" if whole else ""
    return seen + (f"; the evidence had {expected:.0%}" if expected is not None else "")


def _outside_notes(found: OutsideIcp) -> list[str]:
    notes = []
    if found.wins_outside:
        notes.append(f"{found.wins_outside} of {found.wins} wins came from bottom-tier ({found.bottom_tier}) "
                     f"accounts{_share(found.wins_outside, found.wins, found.expected_share_outside)}: "
                     "wins outside the ICP, worth a look.")
    if found.losses_inside:
        notes.append(f"{found.losses_inside} of {found.losses} losses were top-tier ({found.top_tier}) "
                     f"accounts{_share(found.losses_inside, found.losses, found.expected_share_inside)}: "
                     "losses inside the ICP, worth a look.")
    return notes


def _stale(age_days: float | None, label: str, settings: DriftSettings) -> tuple[bool, list[str]]:
    if age_days is None or age_days <= settings.cadence_days:
        return False, []
    return True, [f"{label} has been in force for {age_days:.0f} days, longer than the "
                  f"{settings.cadence_days}-day review cadence."]


def _untested_notes(outcomes: Sequence[TierOutcome], expected: Mapping[str, TierExpectation]) -> list[str]:
    if not expected:
        return ["The version's evidence predicts no win rates by tier (a hand-written version): actual rates "
                "are reported without a comparison."]
    return [f"Tier {o.tier} win rate not tested: {o.win.not_tested}." for o in outcomes
            if o.win.not_tested and o.win.expected_rate is not None]


def assess_drift(
    baseline: Distribution | None,
    current: Distribution,
    closed_since: ClosedDeals,
    expected_by_tier: Mapping[str, TierExpectation],
    settings: DriftSettings | None = None,
    *,
    tiers: Sequence[str],
    age_days: float | None = None,
    version: int | None = None,
) -> DriftReport:
    """Assess drift of an approved version.

    Args:
        baseline: The account distribution at approval (see :mod:`worker.monitor.baseline`), or None.
        current: The account distribution now, scored with the same version.
        closed_since: Deals closed since the version took effect, with their accounts' tiers.
        expected_by_tier: What the version's evidence predicted per tier (empty for a hand-written version).
        settings: Thresholds; the defaults of :class:`DriftSettings` when None.
        tiers: The version's tiers, best first.
        age_days: Days the version has been in force, for the stale flag.
        version: The version number, for the sentences.

    Returns:
        The report; ``alarm`` is never raised on too few closed deals ("not enough closed deals yet").
    """
    settings = settings or DriftSettings()
    label = f"v{version}" if version is not None else "the version"
    score, notes = score_stability(baseline, current, settings)
    criteria, criterion_notes = criterion_stability(baseline, current, settings)
    reasons, stability_notes = _stability_reasons(score, criteria, settings)
    notes += criterion_notes + stability_notes
    known = int((closed_since.tiers != None).sum())  # noqa: E711
    if known < settings.min_closed_deals:
        notes.append(f"Not enough closed deals yet: {known} closed since {label} took effect "
                     f"(win rates by tier are checked from {settings.min_closed_deals}).")
        outcomes = tier_outcomes(closed_since, expected_by_tier, tiers, settings, hold="not enough closed deals yet")
    else:
        outcomes = tier_outcomes(closed_since, expected_by_tier, tiers, settings)
        reasons += _outcome_reasons(outcomes, label, "Holm-adjusted p")
        notes += _untested_notes(outcomes, expected_by_tier)
    found = outside_icp(closed_since, expected_by_tier, tiers, settings.max_listed_deals)
    notes += _outside_notes(found)
    alarm = bool(reasons)
    stale, stale_reasons = _stale(age_days, label, settings)
    return DriftReport(version, alarm, stale, tuple(reasons + stale_reasons), tuple(notes), score, criteria,
                       len(closed_since), int(closed_since.won.sum()), outcomes, found, age_days,
                       settings.cadence_days, settings)
