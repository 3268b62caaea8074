"""When scoring compares every account, and when only those whose inputs changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from worker.score.scorecard.labels import FieldLabels
from worker.score.scoring import FULL_RESCORE_EVERY, inputs_key, needs_full
from worker.store import ScoringState

NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
KEY = inputs_key(FieldLabels.build({"industry": "Industry"}, currency="EUR"))


def state(version: int = 3, key: str = KEY, full_at: datetime | None = NOW - timedelta(days=1),
          through: datetime | None = NOW - timedelta(days=1)) -> ScoringState:
    return ScoringState(connection="main", version=version, inputs_key=key, scored_through=through, full_at=full_at)


def test_the_same_version_and_labels_within_the_period_compare_only_what_changed() -> None:
    assert not needs_full(state(), 3, KEY, NOW)


def test_no_earlier_scoring_a_new_version_or_new_labels_compare_everything() -> None:
    assert needs_full(None, 3, KEY, NOW)
    assert needs_full(state(through=None), 3, KEY, NOW)
    assert needs_full(state(version=2), 3, KEY, NOW)
    relabelled = inputs_key(FieldLabels.build({"industry": "Branche"}, currency="EUR"))
    assert relabelled != KEY and needs_full(state(), 3, relabelled, NOW)
    assert inputs_key(FieldLabels.build({"industry": "Industry"}, currency="USD")) != KEY


def test_every_account_is_compared_again_once_the_period_is_up() -> None:
    assert needs_full(state(full_at=NOW - FULL_RESCORE_EVERY), 3, KEY, NOW)
    assert not needs_full(state(full_at=NOW - FULL_RESCORE_EVERY + timedelta(minutes=1)), 3, KEY, NOW)
