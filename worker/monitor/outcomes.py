"""Outcomes of the deals closed since a version took effect: win rate and health by tier, and surprises."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from worker.monitor.baseline import TierExpectation
from worker.monitor.checks import RateCheck, rate_check, settle
from worker.monitor.settings import DriftSettings


@dataclass(frozen=True)
class ClosedDeals:
    """Deals closed since the version took effect, one entry per deal.

    ``tiers`` is the tier of the deal's account under the version (None when the account is unknown);
    ``healthy`` is, for a won deal, whether its account is free of hard pains (not churned, contracted or
    poorly delivered), and None when it has no health data.
    """

    tiers: npt.NDArray[np.object_]
    won: npt.NDArray[np.bool_]
    healthy: npt.NDArray[np.object_]
    deal_ids: npt.NDArray[np.object_]

    @classmethod
    def of(cls, tiers: Sequence[str | None], won: Sequence[bool], healthy: Sequence[bool | None] | None = None,
           deal_ids: Sequence[str] | None = None) -> ClosedDeals:
        """Build from plain sequences of equal length."""
        n = len(tiers)
        return cls(np.array(list(tiers), dtype=object), np.array(list(won), dtype=bool),
                   np.array(list(healthy) if healthy is not None else [None] * n, dtype=object),
                   np.array(list(deal_ids) if deal_ids is not None else [str(i) for i in range(n)], dtype=object))

    def __len__(self) -> int:
        return len(self.won)


@dataclass(frozen=True)
class TierOutcome:
    """Win rate and health of one tier's closed deals, against the evidence."""

    tier: str
    win: RateCheck
    health: RateCheck


@dataclass(frozen=True)
class OutsideIcp:
    """Wins from the bottom tier and losses from the top tier: the surprises worth a look."""

    top_tier: str | None
    bottom_tier: str | None
    wins_outside: int
    wins: int
    expected_share_outside: float | None
    wins_outside_deal_ids: tuple[str, ...]
    losses_inside: int
    losses: int
    expected_share_inside: float | None
    losses_inside_deal_ids: tuple[str, ...]


def tier_outcomes(closed: ClosedDeals, expected: Mapping[str, TierExpectation], tiers: Sequence[str],
                  settings: DriftSettings, hold: str | None = None) -> tuple[TierOutcome, ...]:
    """Win rate and health per tier against the evidence, Holm-corrected across all tier tests.

    ``hold`` names a reason to report the rates without testing them.
    """
    wins, healths = [], []
    for tier in tiers:
        inside = closed.tiers == tier
        won = inside & closed.won
        known = won & (closed.healthy != None)  # noqa: E711
        healthy = int(sum(bool(v) for v in closed.healthy[known]))
        e = expected.get(tier)
        wins.append(rate_check(int(won.sum()), int(inside.sum()), e.win_rate if e else None, e.won if e else None,
                               e.n if e else None, min_n=settings.min_tier_deals,
                               min_expected_n=settings.min_expected_deals, hold=hold))
        healths.append(rate_check(healthy, int(known.sum()), e.healthy_rate if e else None,
                                  e.healthy if e else None, e.won_n if e else None, min_n=settings.min_tier_deals,
                                  min_expected_n=settings.min_expected_deals, alternative="less", hold=hold))
    settled = settle(wins + healths, settings.alpha, settings.min_rate_difference)
    k = len(tiers)
    return tuple(TierOutcome(t, settled[i], settled[k + i]) for i, t in enumerate(tiers))


def outside_icp(closed: ClosedDeals, expected: Mapping[str, TierExpectation], tiers: Sequence[str],
                limit: int) -> OutsideIcp:
    """Wins whose account is in the bottom tier, and losses whose account is in the top tier."""
    top, bottom = (tiers[0], tiers[-1]) if tiers else (None, None)
    scored = closed.tiers != None  # noqa: E711
    wins_out = closed.won & scored & (closed.tiers == bottom)
    losses_in = ~closed.won & scored & (closed.tiers == top)
    won_total = sum(e.won or 0 for e in expected.values())
    lost_total = sum((e.n or 0) - (e.won or 0) for e in expected.values())
    e_bottom, e_top = expected.get(bottom or ""), expected.get(top or "")
    share_out = (e_bottom.won or 0) / won_total if e_bottom and won_total else None
    share_in = ((e_top.n or 0) - (e_top.won or 0)) / lost_total if e_top and lost_total else None
    return OutsideIcp(top, bottom, int(wins_out.sum()), int(closed.won.sum()), share_out,
                      tuple(str(d) for d in closed.deal_ids[wins_out][:limit]), int(losses_in.sum()),
                      int((~closed.won).sum()), share_in, tuple(str(d) for d in closed.deal_ids[losses_in][:limit]))
