"""Tier cut points set on the data, so that each band means something for these deals.

The configured bands name the tiers (best first); their cut points are placed on the score
distribution of the deals the card was fitted on: the best tier holds about the top
``TOP_SHARE`` of deals, the lowest about ``BOTTOM_SHARE``, and the tiers between share the rest
equally. Cut points are whole scores, strictly decreasing, the lowest tier starting at 0.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from worker.refine.settings import RefineSettings

TOP_SHARE = 0.2
BOTTOM_SHARE = 0.2


def _shares(k: int) -> list[float]:
    """Cumulative share of deals at or above each tier's cut, best tier first (the last tier is everyone)."""
    if k == 1:
        return [1.0]
    middle = (1 - TOP_SHARE - BOTTOM_SHARE) / max(k - 2, 1) if k > 2 else 0.0
    shares = [TOP_SHARE] + [middle] * (k - 2) + [1 - TOP_SHARE - middle * (k - 2)]
    return list(np.cumsum(shares))


def data_bands(scores: npt.NDArray[np.float64], settings: RefineSettings) -> tuple[tuple[str, int], ...]:
    """Tier and lowest score of each band, best first, placed on ``scores``.

    A cut is the whole score whose share of deals at or above it is closest to the tier's cumulative
    share; cuts then decrease strictly from the best tier down, so with few distinct scores the
    lower tiers may stay empty.
    """
    tiers = [b.tier for b in sorted(settings.bands, key=lambda b: -b.min)]
    if len(scores) == 0:
        return tuple((b.tier, b.min) for b in sorted(settings.bands, key=lambda b: -b.min))
    values = np.sort(np.asarray(scores, dtype=np.float64))
    candidates = np.unique(np.ceil(values)).astype(int)
    above = 1 - np.searchsorted(values, candidates, side="left") / len(values)
    cuts: list[int] = []
    for share in _shares(len(tiers))[:-1]:
        best = int(candidates[np.argmin(np.abs(above - share) - 1e-9 * candidates)])
        cuts.append(min(best, 100 - len(cuts)))
    for i in range(1, len(cuts)):
        cuts[i] = min(cuts[i], cuts[i - 1] - 1)
    floor = len(cuts)
    for i in range(len(cuts)):
        cuts[i] = max(cuts[i], floor - i)
    return tuple(zip(tiers, [*cuts, 0], strict=True))
