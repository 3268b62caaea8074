"""PSI: zero for identical distributions, a hand-computed value, symmetry, empty bins and the usual reading."""

from __future__ import annotations

import math

import numpy as np
import pytest

from worker.monitor import histogram, psi, psi_reading
from worker.monitor.psi import SHARE_FLOOR


def test_identical_distributions_have_zero_psi() -> None:
    assert psi([10, 20, 30, 40], [10, 20, 30, 40]) == 0.0
    assert psi([1, 2, 3, 4], [100, 200, 300, 400]) == pytest.approx(0.0, abs=1e-12)


def test_hand_example() -> None:
    """Shares 50/50 against 25/75: 0.25 x ln 2 + 0.25 x ln 1.5."""
    expected = 0.25 * math.log(2) + 0.25 * math.log(1.5)
    assert psi([50, 50], [25, 75]) == pytest.approx(expected)
    assert psi([50, 50], [25, 75]) == pytest.approx(0.2747, abs=1e-4)


def test_psi_is_symmetric_and_grows_with_the_shift() -> None:
    base = [0.1, 0.2, 0.4, 0.2, 0.1]
    small, large = [0.12, 0.22, 0.36, 0.2, 0.1], [0.3, 0.3, 0.2, 0.1, 0.1]
    assert psi(base, small) == pytest.approx(psi(small, base))
    assert 0 < psi(base, small) < psi(base, large)


def test_raw_values_with_bins_match_counts() -> None:
    rng = np.random.default_rng(0)
    before, after = rng.normal(50, 15, 3000), rng.normal(58, 15, 3000)
    edges = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 101]
    assert psi(before, after, edges) == pytest.approx(psi(histogram(before, edges), histogram(after, edges)))


def test_bin_empty_on_one_side_counts_with_the_floor() -> None:
    value = psi([50, 50, 0], [40, 40, 20])
    floor = (0.2 - SHARE_FLOOR) * math.log(0.2 / SHARE_FLOOR)
    assert math.isfinite(value) and value == pytest.approx(floor + 2 * (0.4 - 0.5) * math.log(0.8))
    assert psi([50, 50, 0], [50, 50, 0]) == 0.0


def test_unequal_bins_or_empty_side_are_refused() -> None:
    with pytest.raises(ValueError, match="bins"):
        psi([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="at least one"):
        psi([0, 0], [1, 2])


def test_histogram_clips_scores_into_the_outer_bins() -> None:
    assert histogram([0, 9.9, 10, 100, 120, -5], [0, 10, 101]) == [3, 3]


@pytest.mark.parametrize(("value", "reading"), [
    (0.0, "no significant change"), (0.099, "no significant change"), (0.10, "investigate"),
    (0.249, "investigate"), (0.25, "significant change"), (1.3, "significant change")])
def test_usual_reading(value: float, reading: str) -> None:
    assert psi_reading(value) == reading
