"""Which pulled records really changed, so the worker's own write-back is not processed again.

Writing owned fields moves a record's modification stamp (HubSpot ``hs_lastmodifieddate``,
Salesforce ``SystemModstamp``), so the next incremental pull reads every record the worker wrote:
accounts (their fit score, tier and reasons) and open deals (their account's fit, see
:mod:`worker.writeback.deals`). The write-back records what it wrote in the store (the snapshot, and
the owned values the CRM now shows, see :mod:`worker.writeback.writer`); a pulled record whose
normalised fields, raw properties (apart from the modification stamps and the owned fields) and, for
accounts, owned values all equal what the store holds changed only by that write, or not at all, and
is neither stored nor rescored again. Anything else, a person's edit of an owned account field
included, is processed as usual.

The normalised fields and raw properties are compared through a fingerprint stored with each record
(``content_key``, set by :meth:`UnchangedRecords.keyed` whenever the sync stores it), so the check reads
two short columns per record instead of its raw properties (on PostgreSQL, reading and decoding the JSON
documents back made the check 10 times slower than with the fingerprint). A record stored without one is
compared in full.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlmodel import Session, SQLModel, col

from worker.store import Account, Deal

STAMPS = frozenset({"hs_lastmodifieddate", "SystemModstamp", "LastModifiedDate", "LastModifiedById"})
"""Raw properties that move with every write, the worker's own included."""
COLUMNS = ("name", "owner_id", "attributes", "health", "override_score", "override_reason", "override_issue",
           "deleted")
"""The account columns compared (besides ``owned_values`` and ``raw``)."""
DEAL_COLUMNS = ("account_id", "owner_id", "outcome", "amount", "created_at", "closed_at", "stage", "pipeline",
                "loss_reason", "competitor", "lead_source", "attributes", "deleted")
"""The deal columns compared (besides ``raw``): everything but the modification and sync stamps."""
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


class UnchangedRecords:
    """Drops pulled rows of one table that equal the stored ones, but for modification stamps and owned fields."""

    def __init__(self, connection: str, model: type[SQLModel], columns: Sequence[str],
                 owned_fields: Iterable[str] = (), owned_values: bool = False) -> None:
        self.connection, self.model = connection, model
        self.columns = tuple(columns)
        self.ignored = STAMPS | frozenset(owned_fields)
        self.owned_values = owned_values

    def changed(self, session: Session, rows: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
        """The rows that differ from the store (new records included), and how many were dropped.

        Rows carry their fingerprint (:meth:`keyed`); records stored without one are compared in full, and
        those found unchanged get their fingerprint stored (in the caller's transaction)."""
        stored = self._stored(session, [row["id"] for row in rows])
        unkeyed = [i for i, old in stored.items() if old["content_key"] is None]
        full = self._stored_in_full(session, unkeyed) if unkeyed else {}
        kept = [row for row in rows if row["id"] not in stored or self._differs_from(row, stored[row["id"]], full)]
        if full:
            changed = {row["id"] for row in kept}
            self._store_keys(session, [row for row in rows if row["id"] in full and row["id"] not in changed])
        return kept, len(rows) - len(kept)

    def _store_keys(self, session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
        """Save the fingerprints of unchanged records stored before fingerprints were kept."""
        if not rows:
            return
        table = self.model.__table__  # type: ignore[attr-defined]
        statement = update(table).where(table.c.connection == bindparam("c"), table.c.id == bindparam("i")).values(
            content_key=bindparam("k"))
        session.execute(statement, [{"c": self.connection, "i": row["id"], "k": row["content_key"]} for row in rows])

    def keyed(self, rows: Iterable[dict[str, Any]]) -> None:
        """Add each row's fingerprint (``content_key``), stored with it for the next comparison."""
        for row in rows:
            row["content_key"] = self.content_key(row)

    def content_key(self, row: Mapping[str, Any]) -> str:
        """A fingerprint of the normalised fields and raw properties the comparison covers."""
        content = [row.get(column) for column in self.columns] + [self._content(row.get("raw") or {})]
        text = json.dumps(content, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    def _differs_from(self, row: Mapping[str, Any], old: Mapping[str, Any],
                      full: Mapping[str, Mapping[str, Any]]) -> bool:
        if old["content_key"] is None:
            return self.differs(row, full[row["id"]])
        if row.get("content_key") != old["content_key"]:
            return True
        return self.owned_values and not same_owned(row.get("owned_values") or {}, old["owned_values"] or {})

    def differs(self, row: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
        """Whether a pulled row differs from the stored one in anything but stamps and owned fields."""
        if any(row.get(column) != old[column] for column in self.columns):
            return True
        if self.owned_values and not same_owned(row.get("owned_values") or {}, old["owned_values"] or {}):
            return True
        return self._content(row.get("raw") or {}) != self._content(old["raw"] or {})

    def _content(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in raw.items() if k not in self.ignored}

    def _stored(self, session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Fingerprint (and owned values) of the stored records among ``ids``."""
        model: Any = self.model
        extra = ("owned_values",) if self.owned_values else ()
        query = select(col(model.id), col(model.content_key), *[getattr(model, c) for c in extra]).where(
            col(model.connection) == self.connection)
        return self._read(session, query, ids)

    def _stored_in_full(self, session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The compared columns of stored records that have no fingerprint."""
        model: Any = self.model
        extra = ("owned_values", "raw") if self.owned_values else ("raw",)
        columns = [getattr(model, c) for c in (*self.columns, *extra)]
        query = select(col(model.id), *columns).where(col(model.connection) == self.connection)
        return self._read(session, query, ids)

    def _read(self, session: Session, query: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
        model: Any = self.model
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            for row in session.execute(query.where(col(model.id).in_(ids[start:start + _IN_CHUNK]))):
                found[row[0]] = dict(row._mapping)
        return found


class UnchangedAccounts(UnchangedRecords):
    """Accounts: the owned fields (score, tier, reasons...) are the worker's; their values are compared with
    what the write-back recorded the CRM shows."""

    def __init__(self, connection: str, owned_fields: Iterable[str]) -> None:
        super().__init__(connection, Account, COLUMNS, owned_fields, owned_values=True)


class UnchangedDeals(UnchangedRecords):
    """Deals: the worker writes only its account's fit onto them (fields the deal pull does not read), so a deal
    equal to the store but for its modification stamps changed by that write, or not at all."""

    def __init__(self, connection: str, owned_fields: Iterable[str] = ()) -> None:
        super().__init__(connection, Deal, DEAL_COLUMNS, owned_fields)
