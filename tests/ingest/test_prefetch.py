"""Reading pages ahead in a thread: order, errors, bounded read-ahead, and stopping."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from worker.ingest.prefetch import Prefetched


def test_items_come_in_order_and_all() -> None:
    with Prefetched(range(1000), depth=3) as items:
        assert list(items) == list(range(1000))


def test_a_source_error_is_raised_where_its_item_would_come() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise RuntimeError("page 3 failed")

    seen = []
    with pytest.raises(RuntimeError, match="page 3 failed"), Prefetched(source()) as items:
        for item in items:
            seen.append(item)
    assert seen == [1, 2]


def test_read_ahead_is_bounded_and_close_stops_the_producer() -> None:
    produced: list[int] = []

    def source() -> Iterator[int]:
        for n in range(100):
            produced.append(n)
            yield n

    prefetched = Prefetched(source(), depth=2)
    first = next(iter(prefetched))
    time.sleep(0.3)
    assert first == 0
    assert len(produced) <= 4  # one taken, two queued, one waiting for room
    prefetched.close()
    assert not any(t.name == "icp-prefetch" for t in threading.enumerate())
    assert len(produced) < 100


def test_the_source_runs_in_another_thread_while_the_consumer_works() -> None:
    threads: set[str] = set()

    def source() -> Iterator[int]:
        for n in range(3):
            threads.add(threading.current_thread().name)
            yield n

    with Prefetched(source(), name="icp-prefetch-test") as items:
        assert list(items) == [0, 1, 2]
    assert threads == {"icp-prefetch-test"}
