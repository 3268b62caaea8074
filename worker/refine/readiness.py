"""The readiness report and stop gates run before any analysis.

Win and loss minimums always gate. Loss-reason quality, retention coverage and delivery-fit
coverage are reported as warnings, or gate too when ``evidence_quality_blocks`` is set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from worker.refine.dataset import RefinementInput
from worker.refine.settings import RefineSettings

GENERIC_LOSS_REASONS = frozenset(
    {
        "other",
        "others",
        "lost",
        "closed lost",
        "closed-lost",
        "closedlost",
        "n/a",
        "na",
        "none",
        "unknown",
        "no reason",
        "misc",
        "miscellaneous",
        "-",
        "--",
        "tbd",
        "not specified",
        "unspecified",
        "see notes",
        ".",
    }
)


@dataclass(frozen=True)
class Check:
    """One readiness check: the measured value against its threshold."""

    name: str
    value: float
    threshold: float
    passed: bool
    blocking: bool
    message: str
    unit: Literal["count", "share"] = "share"


@dataclass(frozen=True)
class Readiness:
    """Counts in the window and the checks that decide whether refinement may run."""

    passed: bool
    checks: tuple[Check, ...]
    won: int
    lost: int
    window_start: str
    window_end: str
    window_months: int
    won_accounts: int
    accounts_with_retention: int
    accounts_with_delivery_fit: int
    generic_loss_share: float | None
    excluded_deals: dict[str, int]

    @property
    def stop_reasons(self) -> tuple[str, ...]:
        """Messages of the failed blocking checks."""
        return tuple(c.message for c in self.checks if c.blocking and not c.passed)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Messages of the failed non-blocking checks."""
        return tuple(c.message for c in self.checks if not c.blocking and not c.passed)


def is_generic_loss_reason(reason: str | None) -> bool:
    """Whether a normalised loss reason is empty or says nothing specific."""
    if reason is None:
        return True
    text = re.sub(r"\s+", " ", reason).strip(" .:-")
    return len(text) < 3 or text in GENERIC_LOSS_REASONS


def assess_readiness(data: RefinementInput, settings: RefineSettings) -> Readiness:
    """Count the evidence in the window and run the stop gates.

    Args:
        data: The closed deals in the window.
        settings: Minimums and coverage thresholds.

    Returns:
        The readiness report; ``passed`` is False when a blocking check failed.
    """
    won, lost = int(data.won.sum()), int((~data.won).sum())
    won_accounts = {a for a in data.account_ids[data.won] if a is not None}
    with_retention = _accounts_with(data, data.health.retention_status != None)  # noqa: E711
    with_fit = _accounts_with(data, data.health.delivery_fit != None)  # noqa: E711
    reasons = data.loss_reason[~data.won]
    generic = float(np.mean([is_generic_loss_reason(r) for r in reasons])) if lost else None
    quality_blocks = settings.evidence_quality_blocks
    n_accounts = max(len(won_accounts), 1)
    checks = (
        _minimum("closed-won deals", won, settings.min_wins, True, "closed-won deals in the window"),
        _minimum("closed-lost deals", lost, settings.min_losses, True, "closed-lost deals in the window"),
        Check(
            "generic loss reasons",
            generic if generic is not None else 0.0,
            settings.max_generic_loss_share,
            generic is not None and generic <= settings.max_generic_loss_share,
            quality_blocks,
            f"{_pct(generic)} of lost deals have an empty or generic loss reason "
            f"(at most {settings.max_generic_loss_share:.0%} wanted); lost-deal types will be coarse",
        ),
        _coverage(
            "retention coverage",
            len(with_retention) / n_accounts,
            settings.min_retention_coverage,
            quality_blocks,
            "of won accounts have a retention status",
        ),
        _coverage(
            "delivery-fit coverage",
            len(with_fit) / n_accounts,
            settings.min_delivery_fit_coverage,
            quality_blocks,
            "of won accounts have a delivery-fit rating",
        ),
    )
    return Readiness(
        passed=all(c.passed or not c.blocking for c in checks),
        checks=checks,
        won=won,
        lost=lost,
        window_start=data.window_start.date().isoformat(),
        window_end=data.now.date().isoformat(),
        window_months=data.window_months,
        won_accounts=len(won_accounts),
        accounts_with_retention=len(with_retention),
        accounts_with_delivery_fit=len(with_fit),
        generic_loss_share=generic,
        excluded_deals=dict(data.excluded),
    )


def _accounts_with(data: RefinementInput, mask: np.ndarray) -> set[str]:
    return {a for a in data.account_ids[data.won & mask] if a is not None}


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _minimum(name: str, value: int, threshold: int, blocking: bool, what: str) -> Check:
    passed = value >= threshold
    message = f"{value} {what} (at least {threshold} needed)"
    return Check(name, float(value), float(threshold), passed, blocking, message, "count")


def _coverage(name: str, value: float, threshold: float, blocking: bool, what: str) -> Check:
    message = f"{value:.0%} {what} (at least {threshold:.0%} wanted)"
    return Check(name, value, threshold, value >= threshold, blocking, message)
