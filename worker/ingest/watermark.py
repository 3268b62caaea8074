"""The incremental watermark: a small immutable value with explicit boundary rules.

Rules:

- **Closed start.** The next pull asks for records modified at or after ``value``
  (``>=``), never strictly after, because CRMs stamp many records with the same time.
- **Ties re-read and deduplicated.** The ids already taken at exactly ``value`` are
  kept in ``ids_at_value``; a re-read record at that time with a known id is skipped.
- **Capped at run start.** The watermark never moves past the moment the run
  started, so a record edited while the run was reading is read again next time.
- **Saved with the rows.** The sync loop stores the advanced watermark in the same
  transaction as the rows it covers (see :mod:`worker.ingest.sync`).
- **Saved with whole ties.** A saved ``ids_at_value`` holds every record the CRM answered at
  ``value``: in the middle of an ordered pull the loop saves :meth:`Watermark.settled` (the last
  timestamp a later one has followed), and the newest timestamp only when the pull has ended. So a
  connector may leave the saved ties out of the next pull by their ids (HubSpot: by
  ``hs_object_id``), not only deduplicate them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol


class Stamped(Protocol):
    """Anything with an id and a modification time."""

    @property
    def id(self) -> str: ...

    @property
    def modified_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class Watermark:
    """How far an object's incremental pull has got.

    ``value`` None means nothing has been pulled yet: the next pull is a full one.
    """

    cursor_field: str
    value: datetime | None = None
    ids_at_value: frozenset[str] = field(default_factory=frozenset)
    settled_at: tuple[datetime | None, frozenset[str]] | None = field(default=None, compare=False, repr=False)
    """The last timestamp known whole and its ids (None: this watermark itself, as loaded)."""

    def __post_init__(self) -> None:
        if self.value is not None and self.value.tzinfo is None:
            raise ValueError("a watermark value must be timezone-aware")

    @property
    def is_initial(self) -> bool:
        """True before the first successful pull."""
        return self.value is None

    def admits(self, record: Stamped) -> bool:
        """Whether a pulled record is new to this watermark (not an already-taken tie)."""
        stamp = record.modified_at
        if self.value is None or stamp is None or stamp > self.value:
            return True
        return stamp == self.value and record.id not in self.ids_at_value

    def advance(self, records: Iterable[Stamped]) -> Watermark:
        """The watermark after taking ``records``: the latest time seen and the ids at it.

        In an ascending pull a timestamp is whole once a later one follows it: that one becomes
        :meth:`settled`."""
        value, ids = self.value, set(self.ids_at_value)
        settled = self.settled_at if self.settled_at is not None else (self.value, self.ids_at_value)
        for record in records:
            stamp = record.modified_at
            if stamp is None:
                continue
            if value is None or stamp > value:
                if value is not None:
                    settled = (value, frozenset(ids))
                value, ids = stamp, {record.id}
            elif stamp == value:
                ids.add(record.id)
        return replace(self, value=value, ids_at_value=frozenset(ids), settled_at=settled)

    def settled(self) -> Watermark:
        """The watermark at the last timestamp a later one has followed (in an ascending pull, every record
        at it has been taken): what may be saved before the pull has ended."""
        if self.settled_at is None:
            return self
        value, ids = self.settled_at
        return Watermark(self.cursor_field, value, ids)

    def capped(self, run_started_at: datetime) -> Watermark:
        """Never past the run's start: later edits are read again by the next run."""
        if self.value is not None and self.value > run_started_at:
            return Watermark(self.cursor_field, run_started_at)
        return self
