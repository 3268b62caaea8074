"""Population stability index (PSI) and its usual reading."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from worker.monitor.settings import PSI_ALARM, PSI_INVESTIGATE

SHARE_FLOOR = 1e-4
"""An empty bin's share is taken as this, so that a bin emptying out counts heavily but finitely."""

Reading = Literal["no significant change", "investigate", "significant change"]
SCORE_EDGES: tuple[float, ...] = (0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 101)
"""Ten-point score bins; the last one holds 90-100."""


def histogram(values: Sequence[float] | npt.NDArray[np.floating | np.integer], edges: Sequence[float]) -> list[int]:
    """Counts of ``values`` in the half-open bins ``[edges[i], edges[i+1])``; values outside are clipped in."""
    array = np.asarray(values, dtype=np.float64)
    array = array[~np.isnan(array)]
    bounds = np.asarray(edges, dtype=np.float64)
    index = np.clip(np.searchsorted(bounds, array, side="right") - 1, 0, len(bounds) - 2)
    return np.bincount(index, minlength=len(bounds) - 1).astype(int).tolist()


def psi(
    expected: Sequence[float] | npt.NDArray[np.floating | np.integer],
    actual: Sequence[float] | npt.NDArray[np.floating | np.integer],
    bins: Sequence[float] | None = None,
) -> float:
    """Population stability index of ``actual`` against ``expected``: sum of (a - e) x ln(a / e) over bins.

    Args:
        expected: The baseline. With ``bins``, raw values; without, counts (or shares) per bin.
        actual: The distribution now, in the same form as ``expected``.
        bins: Bin edges for raw values; None when ``expected`` and ``actual`` are already per bin.

    Returns:
        PSI, zero for identical distributions. Bins empty on both sides are ignored; a bin empty on one
        side counts with the share ``SHARE_FLOOR``.

    Raises:
        ValueError: The two sides have different numbers of bins, or one side is empty.
    """
    if bins is not None:
        e, a = np.asarray(histogram(expected, bins), float), np.asarray(histogram(actual, bins), float)
    else:
        e, a = np.asarray(expected, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    if e.shape != a.shape:
        raise ValueError(f"expected has {e.size} bins but actual has {a.size}")
    if e.sum() <= 0 or a.sum() <= 0:
        raise ValueError("PSI needs at least one observation on each side")
    used = (e > 0) | (a > 0)
    e_share = np.maximum(e[used] / e.sum(), SHARE_FLOOR)
    a_share = np.maximum(a[used] / a.sum(), SHARE_FLOOR)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def psi_reading(value: float, investigate: float = PSI_INVESTIGATE, alarm: float = PSI_ALARM) -> Reading:
    """The usual reading: under 0.10 no significant change, 0.10-0.25 investigate, 0.25 or more significant."""
    if value >= alarm:
        return "significant change"
    if value >= investigate:
        return "investigate"
    return "no significant change"
