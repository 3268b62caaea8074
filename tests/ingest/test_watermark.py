"""The watermark's boundary rules: closed start, ties deduplicated, capped at run start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from worker.ingest.watermark import Watermark

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Rec:
    id: str
    modified_at: datetime | None


def test_initial_watermark_admits_everything() -> None:
    """Before the first pull every record is new."""
    mark = Watermark("modified_at")
    assert mark.is_initial and mark.admits(Rec("1", T0)) and mark.admits(Rec("2", None))


def test_advance_keeps_the_latest_time_and_every_id_at_it() -> None:
    """Advancing records the maximum time and all ids sharing it."""
    later = T0 + timedelta(seconds=1)
    mark = Watermark("m").advance([Rec("1", T0), Rec("2", later), Rec("3", later)])
    assert mark.value == T0 + timedelta(seconds=1) and mark.ids_at_value == {"2", "3"}


def test_ties_are_reread_but_deduplicated() -> None:
    """A record at exactly the watermark is skipped only if its id was already taken."""
    mark = Watermark("m", T0, frozenset({"a"}))
    assert not mark.admits(Rec("a", T0))
    assert mark.admits(Rec("b", T0))
    assert mark.admits(Rec("a", T0 + timedelta(milliseconds=1)))
    assert not mark.admits(Rec("z", T0 - timedelta(milliseconds=1)))


def test_advancing_past_a_tie_forgets_old_ids() -> None:
    """Ids at an older time are dropped once the watermark moves on."""
    mark = Watermark("m", T0, frozenset({"a"})).advance([Rec("b", T0 + timedelta(seconds=5))])
    assert mark.ids_at_value == {"b"}


def test_capped_at_run_start() -> None:
    """A watermark past the run start falls back to the run start, with no ids, so later edits are re-read."""
    start = T0 + timedelta(hours=1)
    mark = Watermark("m", start + timedelta(seconds=3), frozenset({"x"})).capped(start)
    assert mark.value == start and mark.ids_at_value == frozenset()
    assert Watermark("m", T0, frozenset({"x"})).capped(start) == Watermark("m", T0, frozenset({"x"}))


def test_watermark_is_immutable_and_timezone_aware() -> None:
    """It is a value: advancing returns a new one; naive times are refused."""
    mark = Watermark("m")
    assert mark.advance([Rec("1", T0)]) is not mark and mark.value is None
    with pytest.raises(ValueError):
        Watermark("m", datetime(2026, 1, 1))


def test_settled_is_the_last_timestamp_a_later_one_followed() -> None:
    """Mid-pull, only a timestamp that a later one has followed is whole: that one may be saved."""
    t1 = T0 + timedelta(seconds=1)
    loaded = Watermark("m", T0, frozenset({"a"}))
    assert loaded.settled() == loaded
    read = loaded.advance([Rec("b", T0), Rec("c", t1)])
    assert read.value == t1 and read.settled() == Watermark("m", T0, frozenset({"a", "b"}))
    more = read.advance([Rec("d", t1)])
    assert more.ids_at_value == {"c", "d"} and more.settled() == Watermark("m", T0, frozenset({"a", "b"}))
    assert more.advance([Rec("e", t1 + timedelta(seconds=1))]).settled() == Watermark("m", t1, frozenset({"c", "d"}))
