"""Buying triggers: deal-level signals linked to winning and to shorter cycles, apart from account fit.

Each deal-level field (lead source, pipeline, mapped deal attributes) is binned against
*winning* exactly like a fit criterion and screened with the same rules (its own
Benjamini-Hochberg family). Separately, the cycle days of won deals are compared across its
bins with a Kruskal-Wallis test (another family). Triggers never enter the fit score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from worker.refine.criteria import BinStats, evaluate, screen
from worker.refine.dataset import Column
from worker.refine.outcomes import Outcomes
from worker.refine.settings import RefineSettings
from worker.refine.stats import benjamini_hochberg, kruskal_by_group

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class TriggerResult:
    """A deal-level field: its link to winning and to cycle length. Rates refer to winning."""

    field: str
    kind: str
    p_value: float
    q_value: float
    iv: float
    rate_spread: float
    linked_to_wins: bool
    win_reason: str
    cycle_p_value: float
    cycle_q_value: float
    cycle_effect: float
    linked_to_shorter_cycles: bool
    faster_bins: tuple[str, ...]
    bins: tuple[BinStats, ...]


def find_triggers(
    columns: Sequence[Column], outcomes: Outcomes, rows: IntArray, settings: RefineSettings
) -> tuple[TriggerResult, ...]:
    """Screen deal-level fields for links to winning and to shorter cycles.

    Args:
        columns: Deal-level fields (already filtered by configuration).
        outcomes: Outcomes of all deals; triggers always use winning as the outcome.
        rows: The rows to analyse.
        settings: The statistical rules.

    Returns:
        Every field with its verdict, linked ones first.
    """
    won_outcomes = outcomes.with_target(outcomes.won)
    deff = won_outcomes.design_effect(rows)
    candidates = [evaluate(c, "deal", won_outcomes, rows, settings, deff) for c in columns]
    screened = screen(candidates, settings)
    won_rows = outcomes.won[rows]
    cycle = outcomes.cycle_days[rows]
    cycle_tests = [
        kruskal_by_group(cycle, np.where(won_rows, c.codes, -1), c.binning.n_bins, settings.min_bin_count)
        for c in candidates
    ]
    cycle_q = benjamini_hochberg([p for p, _ in cycle_tests])
    overall = float(np.nanmedian(cycle[won_rows])) if np.any(~np.isnan(cycle[won_rows])) else np.nan
    results = []
    for s, (cycle_p, effect), q in zip(screened, cycle_tests, cycle_q, strict=True):
        c = s.candidate
        shorter = bool(q <= settings.alpha)
        faster = tuple(
            b.label
            for b in c.bins
            if shorter
            and b.won >= settings.min_bin_count
            and b.median_cycle_days is not None
            and b.median_cycle_days < overall
        )
        results.append(
            TriggerResult(
                field=c.name,
                kind=c.column.kind,
                p_value=c.fit.test.p_value,
                q_value=s.q_value,
                iv=c.iv,
                rate_spread=c.rate_spread,
                linked_to_wins=s.reason is None,
                win_reason=s.reason or "linked to winning: significant, large enough and not suspiciously strong",
                cycle_p_value=cycle_p,
                cycle_q_value=float(q),
                cycle_effect=effect,
                linked_to_shorter_cycles=shorter and bool(faster),
                faster_bins=faster,
                bins=c.bins,
            )
        )
    return tuple(sorted(results, key=lambda r: (not r.linked_to_wins, not r.linked_to_shorter_cycles, r.q_value)))
