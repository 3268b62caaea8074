"""Read ahead: a bounded producer thread fetches the next pages while the caller stores the current ones.

Under a CRM's rate limit most of a pull is waiting for the limiter; reading the next pages in a
thread while the sync loop normalises and stores the pages it already has overlaps that wait with
the CPU work. At most ``depth`` pages are held ahead, so memory stays bounded. The caller still
sees the pages in order, one at a time, and decides alone what is stored and when the watermark
moves (the watermark only ever covers pages the caller has stored).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
DEPTH = 4
"""Pages read ahead of the one being stored."""
_POLL_SECONDS = 0.2


class _End:
    """The producer's last item: the source is exhausted, or it failed with ``error``."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class Prefetched(Generic[T]):
    """Iterates ``source`` in a daemon thread, ``depth`` items ahead of the consumer.

    An error raised by the source is raised again in the consumer, at the point where the item would
    have come. Closing (or leaving a ``with`` block) stops the producer after its current item and
    waits for it, so the source is never used by two threads at once.
    """

    def __init__(self, source: Iterable[T], depth: int = DEPTH, name: str = "icp-prefetch") -> None:
        self._source = source
        self._items: queue.Queue[T | _End] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name=name, daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            for item in self._source:
                if not self._put(item):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            self._put(_End(exc))
            return
        self._put(_End())

    def _put(self, item: T | _End) -> bool:
        """Hand an item on, waiting for room; False when the consumer closed."""
        while not self._stop.is_set():
            try:
                self._items.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._items.get()
            if isinstance(item, _End):
                self._thread.join()
                if item.error is not None:
                    raise item.error
                return
            yield item

    def close(self) -> None:
        """Stop the producer (after the item it is fetching) and wait for it."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._items.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                pass
        close = getattr(self._source, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> Prefetched[T]:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
