"""Which pulled accounts really changed, so the worker's own write-back is not processed again.

Writing the owned fields moves a record's modification stamp (HubSpot ``hs_lastmodifieddate``,
Salesforce ``SystemModstamp``), so the next incremental pull reads every record the worker wrote.
The write-back records what it wrote in the store (the snapshot, and the owned values the CRM now
shows, see :mod:`worker.writeback.writer`); a pulled account whose normalised fields, raw properties
(apart from the modification stamps and the owned fields) and owned values all equal what the store
holds changed only by that write, or not at all, and is neither stored nor rescored again. Anything
else, a person's edit of an owned field included, is processed as usual.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from worker.store import Account

STAMPS = frozenset({"hs_lastmodifieddate", "SystemModstamp", "LastModifiedDate", "LastModifiedById"})
"""Raw properties that move with every write, the worker's own included."""
COLUMNS = ("name", "owner_id", "attributes", "health", "override_score", "override_reason", "override_issue",
           "deleted")
_IN_CHUNK = 500


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def same_owned(pulled: Mapping[str, Any], stored: Mapping[str, Any]) -> bool:
    """Whether the owned values the CRM shows are those the store holds (scores compared as numbers)."""
    for key in set(pulled) | set(stored):
        new, old = pulled.get(key), stored.get(key)
        if new == old:
            continue
        if key == "score" and new not in (None, "") and _number(new) is not None and _number(new) == _number(old):
            continue
        return False
    return True


class UnchangedAccounts:
    """Drops pulled account rows that equal the stored ones, but for modification stamps and owned fields."""

    def __init__(self, connection: str, owned_fields: Iterable[str]) -> None:
        self.connection = connection
        self.ignored = STAMPS | frozenset(owned_fields)

    def changed(self, session: Session, rows: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
        """The rows that differ from the store (new accounts included), and how many were dropped."""
        stored = self._stored(session, [row["id"] for row in rows])
        kept = [row for row in rows if row["id"] not in stored or self.differs(row, stored[row["id"]])]
        return kept, len(rows) - len(kept)

    def differs(self, row: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
        """Whether a pulled row differs from the stored one in anything but stamps and owned fields."""
        if any(row.get(column) != old[column] for column in COLUMNS):
            return True
        if not same_owned(row.get("owned_values") or {}, old["owned_values"] or {}):
            return True
        return self._content(row.get("raw") or {}) != self._content(old["raw"] or {})

    def _content(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in raw.items() if k not in self.ignored}

    def _stored(self, session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
        columns = [getattr(Account, c) for c in (*COLUMNS, "owned_values", "raw")]
        query = select(col(Account.id), *columns).where(col(Account.connection) == self.connection)
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            for row in session.execute(query.where(col(Account.id).in_(ids[start:start + _IN_CHUNK]))):
                found[row[0]] = dict(row._mapping)
        return found
