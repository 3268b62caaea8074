"""Segments: whether won accounts fall into groups with different economics.

The strongest criteria (up to ``segment_attributes``), alone and in pairs (e.g. industry by
size), split the won deals into cells of their bins. Each split is tested with a
Kruskal-Wallis test of deal size across the cells holding at least ``min_bin_count`` won
deals; the splits form one Benjamini-Hochberg family. Among the significant splits with an
effect (eta squared) of at least ``segment_min_effect``, the one with the largest effect is
reported, unless a split on fewer attributes comes within 10% of it; each cell gets notes on
win rate, deal size, cycle and health.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt

from worker.refine.criteria import Candidate
from worker.refine.outcomes import Outcomes
from worker.refine.settings import RefineSettings
from worker.refine.stats import benjamini_hochberg, kruskal_by_group, wilson_interval
from worker.refine.text import number, percent

IntArray = npt.NDArray[np.int64]
PARSIMONY = 0.9


@dataclass(frozen=True)
class SegmentCell:
    """One segment: its deals, win rate, economics and health."""

    label: str
    n: int
    won: int
    won_rate: float
    won_ci: tuple[float, float]
    target_rate: float
    median_deal_size: float | None
    deal_size_ratio: float | None
    median_cycle_days: float | None
    problematic_rate: float | None
    health_n: int
    note: str


@dataclass(frozen=True)
class Segments:
    """The segment split found (if any) and how it was chosen."""

    found: bool
    attributes: tuple[str, ...]
    splits_tested: int
    p_value: float | None
    q_value: float | None
    effect: float | None
    cells: tuple[SegmentCell, ...]
    summary: str


@dataclass(frozen=True)
class _Split:
    attributes: tuple[str, ...]
    codes: IntArray
    labels: dict[int, str]
    p_value: float
    effect: float


def _split(parts: Sequence[Candidate], outcomes: Outcomes, rows: IntArray, min_won: int) -> _Split:
    codes = np.zeros(len(rows), dtype=np.int64)
    labels: dict[int, str] = {0: ""}
    for part in parts:
        size = part.binning.n_bins
        codes = codes * size + part.codes
        labels = {
            k * size + b: (f"{text} & " if text else "") + part.binning.label(b)
            for k, text in labels.items()
            for b in range(size)
        }
    won_codes = np.where(outcomes.won[rows], codes, -1)
    amounts = np.log(np.where(outcomes.amount[rows] > 0, outcomes.amount[rows], np.nan))
    n_cells = int(codes.max()) + 1 if len(codes) else 0
    p_value, effect = kruskal_by_group(amounts, won_codes, n_cells, min_won)
    return _Split(tuple(p.name for p in parts), codes, labels, p_value, effect)


def find_segments(
    candidates: Sequence[Candidate], outcomes: Outcomes, rows: IntArray, settings: RefineSettings
) -> Segments:
    """Look for won-account segments with different deal sizes among the strongest criteria.

    Args:
        candidates: Criteria fitted on ``rows``, strongest first.
        outcomes: Outcomes of all deals.
        rows: The rows the candidates were fitted on.
        settings: Effect threshold, cell minimum and how many criteria to combine.
    """
    chosen = list(candidates[: settings.segment_attributes])
    options = [[c] for c in chosen] + [list(pair) for pair in combinations(chosen, 2)]
    splits = [_split(option, outcomes, rows, settings.min_bin_count) for option in options]
    if not splits:
        return Segments(False, (), 0, None, None, None, (), "no criteria to segment by")
    q_values = benjamini_hochberg([s.p_value for s in splits])
    eligible = [
        (s, float(q))
        for s, q in zip(splits, q_values, strict=True)
        if q <= settings.alpha and s.effect >= settings.segment_min_effect
    ]
    if not eligible:
        best = max(splits, key=lambda s: s.effect)
        return Segments(
            False,
            best.attributes,
            len(splits),
            best.p_value,
            None,
            best.effect,
            (),
            (
                f"won accounts do not form groups with distinct deal sizes: the strongest split "
                f"({' x '.join(best.attributes)}) has eta squared {best.effect:.3f}, "
                f"below {settings.segment_min_effect:g} or not significant after correction"
            ),
        )
    split, q = _simplest(eligible)
    cells = _cells(split, outcomes, rows, settings.min_bin_count)
    return Segments(
        True,
        split.attributes,
        len(splits),
        split.p_value,
        q,
        split.effect,
        cells,
        (
            f"won accounts split by {' x '.join(split.attributes)} into groups with different deal sizes "
            f"(Kruskal-Wallis q = {q:.2g}, eta squared {split.effect:.3f}); consider a note or playbook per segment"
        ),
    )


def _simplest(eligible: list[tuple[_Split, float]]) -> tuple[_Split, float]:
    """The split with the largest effect, unless one on fewer attributes comes within 10% of it."""
    best_effect = max(split.effect for split, _ in eligible)
    close = [item for item in eligible if item[0].effect >= PARSIMONY * best_effect]
    return min(close, key=lambda item: (len(item[0].attributes), -item[0].effect))


def _cells(split: _Split, outcomes: Outcomes, rows: IntArray, min_won: int) -> tuple[SegmentCell, ...]:
    won = outcomes.won[rows]
    amount = outcomes.amount[rows]
    overall = float(np.nanmedian(amount[won])) if won.any() and np.any(~np.isnan(amount[won])) else None
    with_health = won & outcomes.health_known[rows]
    overall_bad = float(outcomes.problematic[rows][with_health].mean()) if with_health.any() else 0.0
    cells = []
    for code in np.unique(split.codes):
        inside = split.codes == code
        wins = inside & won
        if wins.sum() < min_won:
            continue
        cells.append(_cell(split.labels[int(code)], inside, wins, rows, outcomes, overall, overall_bad))
    return tuple(sorted(cells, key=lambda c: -(c.median_deal_size or 0)))


def _cell(
    label: str,
    inside: npt.NDArray[np.bool_],
    wins: npt.NDArray[np.bool_],
    rows: IntArray,
    outcomes: Outcomes,
    overall: float | None,
    overall_bad: float,
) -> SegmentCell:
    n, k = int(inside.sum()), int(wins.sum())
    low, high = wilson_interval(k, n)
    amounts = outcomes.amount[rows][wins]
    median = float(np.nanmedian(amounts)) if np.any(~np.isnan(amounts)) else None
    cycles = outcomes.cycle_days[rows][wins]
    cycle = float(np.nanmedian(cycles)) if np.any(~np.isnan(cycles)) else None
    health = wins & outcomes.health_known[rows]
    bad = float(outcomes.problematic[rows][health].mean()) if health.any() else None
    ratio = median / overall if median is not None and overall else None
    note = f"{k} won of {n}; median deal {number(median)}"
    if ratio is not None:
        note += f" ({ratio:.1f}x the overall median)"
    note += f"; cycle {number(cycle)} days; problematic {percent(bad)}"
    if bad is not None and bad > overall_bad + 0.1:
        note += " - pays differently but is harder to keep"
    return SegmentCell(
        label,
        n,
        k,
        k / n,
        (float(low), float(high)),
        float(outcomes.target[rows][inside].mean()),
        median,
        ratio,
        cycle,
        bad,
        int(health.sum()),
        note,
    )
