"""Impact preview: which live accounts, and how much open pipeline, would change tier if approved."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from worker.refine.dataset import Population
from worker.score.scorecard import Scorecard, Scorer

UNSCORED = "unscored"


@dataclass(frozen=True)
class TierMove:
    """Accounts moving from one tier to another, with their open pipeline."""

    from_tier: str
    to_tier: str
    accounts: int
    open_pipeline: float
    open_deals: int
    changed: bool
    direction: str


@dataclass(frozen=True)
class Impact:
    """The tier changes approval would cause across live accounts.

    Attributes:
        compared_with: Name of the current approved scorecard, or None (every account is unscored now).
        accounts: Live accounts scored.
        accounts_changing: Accounts whose tier would change.
        open_pipeline: Open pipeline of all live accounts.
        pipeline_changing: Open pipeline on accounts whose tier would change.
        moves: Every from-to pair, largest first.
    """

    compared_with: str | None
    accounts: int
    accounts_changing: int
    upgrades: int
    downgrades: int
    open_pipeline: float
    pipeline_changing: float
    current_tiers: dict[str, int]
    proposed_tiers: dict[str, int]
    moves: tuple[TierMove, ...]


def impact_preview(population: Population, proposed: Scorecard, current: Scorecard | None) -> Impact:
    """Score every live account with both versions and count the tier changes.

    Args:
        population: Live accounts with their attributes and open pipeline.
        proposed: The proposed scorecard.
        current: The currently approved scorecard, or None.
    """
    columns = {name: column.values for name, column in population.columns.items()}
    n = len(population)
    new = Scorer(proposed).score(columns, n=n).tiers.astype(str)
    old = Scorer(current).score(columns, n=n).tiers.astype(str) if current else np.full(n, UNSCORED)
    rank = _ranks(proposed, current)
    moves = []
    moved = Counter(zip(old.tolist(), new.tolist(), strict=True))
    for (before, after), count in sorted(moved.items(), key=lambda kv: -kv[1]):
        hit = (old == before) & (new == after)
        changed = before != after
        direction = (
            "none"
            if not changed
            else ("new" if before == UNSCORED else ("up" if rank.get(after, 0) < rank.get(before, 0) else "down"))
        )
        moves.append(
            TierMove(
                before,
                after,
                count,
                float(population.open_pipeline[hit].sum()),
                int(population.open_deals[hit].sum()),
                changed,
                direction,
            )
        )
    changing = old != new
    return Impact(
        compared_with=current.name if current else None,
        accounts=n,
        accounts_changing=int(changing.sum()),
        upgrades=sum(m.accounts for m in moves if m.direction == "up"),
        downgrades=sum(m.accounts for m in moves if m.direction == "down"),
        open_pipeline=float(population.open_pipeline.sum()),
        pipeline_changing=float(population.open_pipeline[changing].sum()),
        current_tiers=_counts(old, current.tiers if current else [UNSCORED]),
        proposed_tiers=_counts(new, proposed.tiers),
        moves=tuple(moves),
    )


def _ranks(proposed: Scorecard, current: Scorecard | None) -> dict[str, int]:
    rank = {tier: i for i, tier in enumerate(proposed.tiers)}
    if current is not None:
        for i, tier in enumerate(current.tiers):
            rank.setdefault(tier, i)
    return rank


def _counts(tiers: np.ndarray, order: list[str]) -> dict[str, int]:
    found = Counter(tiers.tolist())
    return {t: int(found.get(t, 0)) for t in order} | {t: int(c) for t, c in found.items() if t not in order}
