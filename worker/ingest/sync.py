"""The sync loop: pull each object incrementally, normalise, store rows and watermark together.

Ordered pages (ascending incremental pulls) checkpoint the watermark with every batch of
pages stored (:data:`STORE_BATCH` records), in the same transaction as their rows: the
settled watermark (:meth:`Watermark.settled`, whose ties are whole) until the pull ends, then
the last one. Unordered pages (full pulls by id) store their rows as they come but promote the
watermark only with the last page, so a crash mid-pull re-reads rather than skips.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, select, update
from sqlmodel import Session, SQLModel, col

from connectors.base import Connector, ObjectType, Page, PullRequest, RawRecord
from connectors.errors import ConnectorError
from worker.ingest.mapping import FieldMapping, Normaliser
from worker.ingest.prefetch import Prefetched
from worker.ingest.records import AccountRecord, DealRecord, EvidenceNote, OwnerRecord, Quarantined
from worker.ingest.unchanged import UnchangedAccounts, UnchangedDeals, UnchangedRecords
from worker.ingest.watermark import Watermark
from worker.logs import get_logger
from worker.store import (
    Account,
    Deal,
    EvidenceNoteRow,
    Owner,
    QuarantineRow,
    SyncWatermark,
    refresh_statistics,
    session_scope,
    upsert,
)

OBJECT_ORDER: tuple[ObjectType, ...] = ("owners", "accounts", "deals", "notes")
PROGRESS_EVERY = 5_000
STORE_BATCH = 2_000
MODELS: dict[str, type[SQLModel]] = {"owners": Owner, "accounts": Account, "deals": Deal, "notes": EvidenceNoteRow}
"""Pages are stored together, with their watermark, once this many records are held (or at the end):
one transaction per 2,000 rows instead of one per page of 100 or 200."""
log = get_logger("worker.ingest.sync")


@dataclass
class SyncReport:
    """What a sync pulled, stored and quarantined, by object."""

    pulled: Counter[str] = field(default_factory=Counter)
    stored: Counter[str] = field(default_factory=Counter)
    quarantined: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    """Records pulled but not stored again: nothing but their modification stamp (the worker's own write) changed
    (accounts and deals)."""
    seconds: dict[str, float] = field(default_factory=lambda: {"pull": 0.0, "normalise": 0.0, "store": 0.0})
    """Wall time waiting for the CRM's pages ("pull"), normalising their records and storing them."""


def load_watermark(session: Session, connection: str, object_type: str, cursor: str) -> Watermark:
    """The saved watermark of an object, or an initial one."""
    row = session.get(SyncWatermark, (connection, object_type))
    if row is None:
        return Watermark(cursor)
    return Watermark(row.cursor_field, row.value, frozenset(row.ids_at_value))


def save_watermark(session: Session, connection: str, object_type: str, mark: Watermark, run_id: str,
                   now: datetime) -> None:
    """Store a watermark (in the caller's transaction)."""
    upsert(session, SyncWatermark, [{
        "connection": connection, "object_type": object_type, "cursor_field": mark.cursor_field,
        "value": mark.value, "ids_at_value": sorted(mark.ids_at_value), "updated_at": now, "run_id": run_id,
    }])


def _with_last_flag(pages: Iterable[Page]) -> Iterator[tuple[Page, bool]]:
    """Each page with whether it is the last. An ordered page is handed on at once (it checkpoints
    by itself); an unordered one waits for the next."""
    held: Page | None = None
    for page in pages:
        if held is not None:
            yield held, False
            held = None
        if page.ordered:
            yield page, False
        else:
            held = page
    if held is not None:
        yield held, True


class Sync:
    """Pulls one connection's objects into the store."""

    def __init__(self, engine: Engine, connection: str, connector: Connector, mapping: FieldMapping,
                 run_id: str) -> None:
        self.engine, self.connection, self.connector = engine, connection, connector
        self.mapping, self.run_id = mapping, run_id
        self.normaliser = Normaliser(mapping)
        self.report = SyncReport()
        self.unchanged: dict[str, UnchangedRecords] = {
            "accounts": UnchangedAccounts(connection, _owned_fields(mapping)), "deals": UnchangedDeals(connection)}
        self._compare = True

    def run(self, started_at: datetime, objects: Iterable[ObjectType] = OBJECT_ORDER) -> SyncReport:
        """Pull every object; the watermark never passes ``started_at``. Then, when accounts and deals
        were pulled, read the property history of the scoring attributes (:mod:`worker.ingest.history`)."""
        wanted = list(objects)
        for object_type in wanted:
            self.pull(object_type, started_at)
        if {"accounts", "deals"} <= set(wanted):
            self._history(started_at)
        return self.report

    def _history(self, now: datetime) -> None:
        """History is evidence, not a condition of the sync: a CRM error here is logged, never fatal."""
        from worker.ingest.history import read_attribute_history

        try:
            read_attribute_history(self.engine, self.connection, self.connector, self.mapping, now)
        except ConnectorError as exc:
            log.warning("history.failed", reason=str(exc))

    def _properties(self, object_type: ObjectType) -> list[str]:
        return {"accounts": self.mapping.account_properties, "deals": self.mapping.deal_properties,
                "notes": self.mapping.note_properties}.get(object_type, list)()

    def pull(self, object_type: ObjectType, started_at: datetime) -> None:
        """Pull one object from its watermark up to the run start."""
        with Session(self.engine) as session:
            mark = load_watermark(session, self.connection, object_type, "modified_at")
            saved = session.get(SyncWatermark, (self.connection, object_type))
        full = object_type == "owners" or mark.is_initial
        request = PullRequest(object_type, self._properties(object_type), until=started_at,
                              since=None if full else mark.value,
                              seen_at_since=frozenset() if full else mark.ids_at_value,
                              previous_until=saved.updated_at if saved is not None and not full else None)
        self.report.pulled[object_type] += 0  # reported even when nothing changed
        self._compare = object_type in self.unchanged and self._has_rows(MODELS[object_type])
        log.info("sync.start", object=object_type, mode="full" if full else "incremental",
                 since=mark.value.isoformat() if mark.value else None)
        held: list[RawRecord] = []
        ordered = False
        try:
            for page, last in _with_last_flag(self._timed_pages(request)):
                records = self._admitted(object_type, page, mark)
                mark, ordered = mark.advance(records), page.ordered
                held.extend(records)
                if len(held) >= STORE_BATCH or last:
                    self._flush(object_type, held, mark if last else mark.settled(),
                                (ordered or last) and object_type != "owners", started_at)
                    held = []
        except Exception:
            if held:  # keep what was read before the failure (the watermark only with ordered pages)
                self._flush(object_type, held, mark.settled(), ordered and object_type != "owners", started_at)
            raise
        if held or ordered:
            self._flush(object_type, held, mark, ordered and object_type != "owners", started_at)
        refresh_statistics(self.engine, self.report.stored[object_type], MODELS[object_type])
        log.info("sync.done", object=object_type, pulled=self.report.pulled[object_type],
                 unchanged=self.report.unchanged[object_type], quarantined=self.report.quarantined[object_type])

    def _admitted(self, object_type: ObjectType, page: Page, mark: Watermark) -> list[RawRecord]:
        """The records of a page to take: all of an unordered page; of an ordered one, those the watermark admits
        and, among those stamped before it (a connector's look-back, e.g. Salesforce's), the ones the store does
        not hold at that stamp: committed after the previous pull had read past their time."""
        if not page.ordered:
            return list(page.records)
        taken = [r for r in page.records if mark.admits(r)]
        earlier = [r for r in page.records if mark.value is not None and r.modified_at is not None
                   and r.modified_at < mark.value]
        return self._late_commits(object_type, earlier) + taken if earlier else taken

    def _late_commits(self, object_type: ObjectType, records: list[RawRecord]) -> list[RawRecord]:
        model: Any = MODELS[object_type]
        stamped = hasattr(model, "modified_at")
        columns = [col(model.id), col(model.modified_at)] if stamped else [col(model.id)]
        stored: dict[str, datetime | None] = {}
        ids = [r.id for r in records]
        with Session(self.engine) as session:
            for start in range(0, len(ids), 500):
                for row in session.execute(select(*columns).where(
                        col(model.connection) == self.connection, col(model.id).in_(ids[start:start + 500]))):
                    stored[row[0]] = row[1] if stamped else None
        late = [r for r in records if r.id not in stored or (stamped and _newer(r.modified_at, stored[r.id]))]
        if late:
            log.info("sync.late_commits", object=object_type, records=len(late))
        return late

    def _has_rows(self, model: Any) -> bool:
        """Whether the store holds rows of this table for the connection (none: nothing to compare pulled ones with)."""
        with Session(self.engine) as session:
            first = session.execute(select(col(model.id)).where(
                col(model.connection) == self.connection).limit(1)).first()
            return first is not None

    def _flush(self, object_type: ObjectType, records: list[RawRecord], mark: Watermark, checkpoint: bool,
               started_at: datetime) -> None:
        """Store held records, with the watermark when ``checkpoint``, in one transaction."""
        t0, normalised = time.perf_counter(), self.report.seconds["normalise"]
        saved = mark.capped(started_at) if checkpoint and not mark.is_initial else None
        self._store(object_type, records, saved, started_at)
        self._progress(object_type, len(records))
        self.report.seconds["store"] += time.perf_counter() - t0 - (self.report.seconds["normalise"] - normalised)

    def _timed_pages(self, request: PullRequest) -> Iterator[Page]:
        """The connector's pages, read ahead in a thread (:mod:`worker.ingest.prefetch`) so that waiting for
        the CRM (and its rate limit) overlaps storing; the time spent waiting for each is the pull figure."""
        with Prefetched(self.connector.pull(request), name=f"icp-pull-{request.object_type}") as prefetched:
            pages = iter(prefetched)
            while True:
                t0 = time.perf_counter()
                page = next(pages, None)
                self.report.seconds["pull"] += time.perf_counter() - t0
                if page is None:
                    return
                yield page

    def _progress(self, object_type: str, count: int) -> None:
        before = self.report.pulled[object_type]
        self.report.pulled[object_type] += count
        if before // PROGRESS_EVERY != self.report.pulled[object_type] // PROGRESS_EVERY:
            log.info("sync.progress", object=object_type, pulled=self.report.pulled[object_type])

    def _store(self, object_type: ObjectType, records: list[RawRecord], mark: Watermark | None,
               now: datetime) -> None:
        t0 = time.perf_counter()
        rows, bad = self._normalise(object_type, records, now)
        self.report.seconds["normalise"] += time.perf_counter() - t0
        with session_scope(self.engine) as session:
            model: type[SQLModel] = MODELS[object_type]
            if object_type == "notes":
                _link_deal_accounts(session, self.connection, rows)
            if object_type in self.unchanged:
                self.unchanged[object_type].keyed(rows)
            if object_type in self.unchanged and self._compare:
                pulled = rows
                rows, same = self.unchanged[object_type].changed(session, rows)
                self.report.unchanged[object_type] += same
                if same:
                    _restamp(session, model, self.connection, pulled, rows)
            upsert(session, model, rows)
            for q in bad:
                session.add(QuarantineRow(connection=self.connection, run_id=self.run_id, object_type=q.object_type,
                                          record_id=q.record_id, field=q.field, reason=q.reason, raw=q.raw, at=now))
            if mark is not None:
                save_watermark(session, self.connection, object_type, mark, self.run_id, now)
        self.report.stored[object_type] += len(rows)
        self.report.quarantined[object_type] += len(bad)
        for q in bad:
            log.warning("record.quarantined", object=q.object_type, record=q.record_id, field=q.field,
                        reason=q.reason)

    def _normalise(self, object_type: ObjectType, records: list[RawRecord],
                   now: datetime) -> tuple[list[dict[str, Any]], list[Quarantined]]:
        rows: list[dict[str, Any]] = []
        bad: list[Quarantined] = []
        convert = {"owners": self.normaliser.owner, "accounts": self.normaliser.account,
                   "deals": self.normaliser.deal, "notes": self.normaliser.note}[object_type]
        for record in records:
            result = convert(record)
            if isinstance(result, Quarantined):
                bad.append(result)
            else:
                rows.append(row_of(self.connection, result, now))
        return rows, bad


def _restamp(session: Session, model: Any, connection: str, pulled: list[dict[str, Any]],
             kept: list[dict[str, Any]]) -> None:
    """The rows not stored again (unchanged but for their stamps) keep the CRM's current modification time, so a
    look-back that reads them again knows them as seen (:meth:`Sync._late_commits`); nothing else of them moves."""
    stored = {row["id"] for row in kept}
    table = model.__table__
    statement = update(table).where(table.c.connection == bindparam("c"), table.c.id == bindparam("i")).values(
        modified_at=bindparam("m"))
    params = [{"c": connection, "i": row["id"], "m": row["modified_at"]} for row in pulled
              if row["id"] not in stored and row.get("modified_at") is not None]
    if params:
        session.execute(statement, params)


def _newer(pulled: datetime | None, stored: datetime | None) -> bool:
    return stored is None or (pulled is not None and stored < pulled)


def _link_deal_accounts(session: Session, connection: str, rows: list[dict[str, Any]]) -> None:
    """A note on a deal but on no account (a Salesforce Note whose parent is an Opportunity) gets its deal's
    account from the store; deals are pulled before notes, so no CRM call is spent on it."""
    wanted = sorted({row["deal_id"] for row in rows if row.get("deal_id") and not row.get("account_id")})
    accounts: dict[str, str | None] = {}
    for start in range(0, len(wanted), 500):
        accounts.update((deal, account) for deal, account in session.execute(select(col(Deal.id), col(Deal.account_id))
                        .where(col(Deal.connection) == connection, col(Deal.id).in_(wanted[start:start + 500]))))
    for row in rows:
        if row.get("deal_id") and not row.get("account_id"):
            row["account_id"] = accounts.get(row["deal_id"])


def _owned_fields(mapping: FieldMapping) -> list[str]:
    """The CRM fields the worker writes (their changes are its own, or restored by the write-back)."""
    owned = mapping.owned
    fields = [owned.score, owned.tier, owned.reasons, owned.version, owned.scored_at] if owned is not None else []
    fields += [owned.status] if owned is not None and owned.status else []
    return fields + ([mapping.native_tier.field] if mapping.native_tier is not None else [])


def row_of(connection: str, record: AccountRecord | DealRecord | EvidenceNote | OwnerRecord,
           now: datetime) -> dict[str, Any]:
    """The store row of a canonical record."""
    base: dict[str, Any] = {"connection": connection}
    if isinstance(record, AccountRecord):
        return base | {"id": record.id, "name": record.name, "owner_id": record.owner_id,
                       "modified_at": record.modified_at, "attributes": record.attributes, "health": record.health,
                       "override_score": record.override_score, "override_reason": record.override_reason,
                       "override_issue": record.override_issue, "owned_values": record.owned_values,
                       "raw": record.raw, "deleted": record.deleted,
                       "synced_at": now}
    if isinstance(record, DealRecord):
        return base | {"id": record.id, "account_id": record.account_id, "owner_id": record.owner_id,
                       "outcome": record.outcome, "amount": record.amount, "created_at": record.created_at,
                       "closed_at": record.closed_at, "modified_at": record.modified_at, "stage": record.stage,
                       "pipeline": record.pipeline, "loss_reason": record.loss_reason,
                       "competitor": record.competitor, "lead_source": record.lead_source,
                       "attributes": record.attributes, "raw": record.raw, "deleted": record.deleted,
                       "synced_at": now}
    if isinstance(record, EvidenceNote):
        return base | {"id": record.id, "account_id": record.account_id, "deal_id": record.deal_id,
                       "kind": record.kind, "author": record.author, "created_at": record.created_at,
                       "text": record.text, "source": record.source}
    return base | {"id": record.id, "email": record.email, "name": record.name, "active": record.active,
                   "raw": record.raw}


def stored_ids(engine: Engine, connection: str, model: Any) -> list[str]:
    """Ids of one table's rows for a connection (tests and reports)."""
    with Session(engine) as session:
        return list(session.execute(select(model.id).where(model.connection == connection)).scalars())
