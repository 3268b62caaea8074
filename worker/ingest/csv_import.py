"""Evidence from CSV files: accounts, deals and notes through a mapping file.

Either an accounts file and a deals file joined by the account key, or one flat deals file whose rows also
carry the account columns (or no keys at all: each row is then a deal of its own account). Bad rows are
reported with the file, line (the header is line 1) and field, kept in quarantine, and never stop the rest
from importing. The mapping is :mod:`worker.ingest.csv_mapping`; reading and checking rows,
:mod:`worker.ingest.csv_rows`. See ``config/csv-mapping.example.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from worker.ingest.csv_mapping import (
    AccountColumns,
    Column,
    CsvMapping,
    DealColumns,
    NoteColumns,
    Outcome,
    load_csv_mapping,
)
from worker.ingest.csv_rows import (
    RowParser,
    RowProblem,
    _BadField,
    account_from_row,
    check_header,
    deal_from_row,
    note_from_row,
    read_rows,
    row_key,
)
from worker.ingest.history import declare
from worker.ingest.mapping import MappingError
from worker.ingest.records import AccountRecord, DealRecord, EvidenceNote, Quarantined
from worker.ingest.sync import row_of
from worker.store import Account, Deal, EvidenceNoteRow, QuarantineRow, session_scope, upsert

__all__ = ["AccountColumns", "Column", "CsvImport", "CsvMapping", "DealColumns", "ImportReport", "NoteColumns",
           "Outcome", "RowParser", "RowProblem", "account_from_row", "deal_from_row", "load_csv_mapping",
           "note_from_row", "read_rows", "row_key"]


@dataclass
class ImportReport:
    """What an import took in, what it refused and what it noted about rows it did take in."""

    accounts: int = 0
    deals: int = 0
    notes: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def refused(self) -> list[RowProblem]:
        """Rows not imported."""
        return [p for p in self.problems if not p.kept]

    @property
    def noted(self) -> list[RowProblem]:
        """Rows imported with a remark (an account repeated with other values in a flat file)."""
        return [p for p in self.problems if p.kept]

    @property
    def imported(self) -> int:
        """Records imported, of every kind."""
        return self.accounts + self.deals + self.notes


def _merge_accounts(session: Session, connection: str, accounts: dict[str, AccountRecord],
                    now: datetime) -> list[dict[str, Any]]:
    """Rows for upsert; CSV values fill in or replace, without erasing what the CRM gave."""
    ids = list(accounts)
    existing: dict[str, Account] = {}
    for start in range(0, len(ids), 500):
        existing.update({a.id: a for a in session.execute(select(Account).where(
            col(Account.connection) == connection, col(Account.id).in_(ids[start:start + 500]))).scalars()})
    rows = []
    for account_id, record in accounts.items():
        row = row_of(connection, record, now)
        old = existing.get(account_id)
        if old is not None:
            row["attributes"] = {**old.attributes, **{k: v for k, v in record.attributes.items() if v is not None}}
            row["health"] = {**old.health, **{k: v for k, v in record.health.items() if v is not None}}
            row["raw"] = {**old.raw, **record.raw}
            for key in ("name", "owner_id", "modified_at", "override_score", "override_reason", "owned_values"):
                row[key] = getattr(old, key) if row.get(key) in (None, {}) else row[key]
        rows.append(row)
    return rows


def _differs(first: AccountRecord, again: AccountRecord, cols: AccountColumns) -> str | None:
    """The column of the first value a repeated account gives differently, or None when it repeats itself."""
    pairs = [(cols.name, first.name, again.name), (cols.owner, first.owner_id, again.owner_id)]
    pairs += [(cols.attributes[k], v, again.attributes.get(k)) for k, v in first.attributes.items()]
    pairs += [(cols.health[k], v, again.health.get(k)) for k, v in first.health.items()]
    return next((spec.column for spec, a, b in pairs if spec is not None and a != b), None)


class CsvImport:
    """Imports CSV evidence into one connection's store."""

    def __init__(self, engine: Engine, connection: str, mapping: CsvMapping, run_id: str) -> None:
        self.engine, self.connection, self.mapping, self.run_id = engine, connection, mapping, run_id
        self.parse = RowParser(mapping.date_format)
        self.report = ImportReport()
        self._bad: list[tuple[str, RowProblem, dict[str, str]]] = []
        self._lines: dict[tuple[str, str], int] = {}

    def run(self, deals_file: Path | None, accounts_file: Path | None = None, notes_file: Path | None = None,
            now: datetime | None = None) -> ImportReport:
        """Read the files, store what parses, quarantine the rest."""
        moment = now or datetime.now(UTC)
        accounts: dict[str, AccountRecord] = {}
        deals: dict[str, DealRecord] = {}
        notes: list[EvidenceNote] = []
        if deals_file is not None and self.mapping.deals is None:
            raise MappingError("deals: the mapping has no deals section for the deals file")
        if notes_file is not None and self.mapping.notes is None:
            raise MappingError("notes: the mapping has no notes section for the notes file")
        if accounts_file is not None and deals_file is not None and (
                self.mapping.accounts.id is None or self.mapping.deals is None
                or self.mapping.deals.account_id is None):
            raise MappingError("to join an accounts file to a deals file the mapping must name accounts.id and "
                               "deals.account_id")
        if accounts_file is not None:
            self._collect(accounts_file, "accounts", (self.mapping.accounts,), lambda r, n: self._once(
                "accounts", account_from_row(r, self.mapping.accounts, self.parse, row_key(accounts_file.name, n)),
                accounts, n))
        if deals_file is not None:
            flat = accounts_file is None
            sections = (self.mapping.deals, self.mapping.accounts if flat else None)
            name = deals_file.name
            self._collect(deals_file, "deals", sections,
                          lambda r, n: self._deal_row(r, n, accounts, deals, flat, name))
        if notes_file is not None:
            cols = self.mapping.notes
            assert cols is not None
            self._collect(notes_file, "notes", (cols,), lambda r, n: notes.append(
                note_from_row(r, cols, self.parse, notes_file.name, n)))
        self._store(accounts, deals, notes, moment)
        return self.report

    def _once(self, kind: str, record: Any, into: dict[str, Any], line: int) -> None:
        """Keep the first record of an id; a repeated id is refused, naming the line of the first."""
        if record.id in into:
            first = self._lines[(kind, record.id)]
            key = self.mapping.accounts.id if kind == "accounts" else self.mapping.deals.id  # type: ignore[union-attr]
            column = key.column if key is not None else "id"
            reason = f"duplicate {kind[:-1]} key {record.id!r}: already on row {first}; the first is kept"
            raise _BadField(column, reason)
        into[record.id] = record
        self._lines[(kind, record.id)] = line

    def _deal_row(self, row: Mapping[str, str], line: int, accounts: dict[str, AccountRecord],
                  deals: dict[str, DealRecord], flat: bool, file: str) -> None:
        assert self.mapping.deals is not None
        key = row_key(file, line)
        account = account_from_row(row, self.mapping.accounts, self.parse, key) if flat else None
        deal = deal_from_row(row, self.mapping.deals, self.parse, key, account.id if account is not None else None)
        self._once("deals", deal, deals, line)
        if account is None:
            return
        first = accounts.get(account.id)
        if first is None:
            accounts[account.id] = account
            self._lines[("accounts", account.id)] = line
            return
        column = _differs(first, account, self.mapping.accounts)
        if column is not None:
            self._bad.append(("accounts", RowProblem(
                file, line, column, f"account {account.id!r} has other values than on row "
                                    f"{self._lines[('accounts', account.id)]}; the first are kept (the deal is "
                                    "imported)", kept=True), dict(row)))

    def _collect(self, path: Path, kind: str, sections: tuple[BaseModel | None, ...], take: Any) -> None:
        problems: list[RowProblem] = []
        checked = False
        for number, row in read_rows(path, self.mapping.delimiter, self.mapping.encoding, problems):
            if not checked:
                check_header(path, row, *sections)
                checked = True
            try:
                take(row, number)
            except _BadField as exc:
                self._bad.append((kind, RowProblem(path.name, number, exc.field, exc.reason), row))
        self._bad += [(kind, p, {}) for p in problems]

    def _store(self, accounts: dict[str, AccountRecord], deals: dict[str, DealRecord], notes: list[EvidenceNote],
               now: datetime) -> None:
        self._bad.sort(key=lambda item: (item[1].file, item[1].row))
        with session_scope(self.engine) as session:
            upsert(session, Account, _merge_accounts(session, self.connection, accounts, now))
            upsert(session, Deal, [row_of(self.connection, d, now) for d in deals.values()])
            upsert(session, EvidenceNoteRow, [row_of(self.connection, n, now) for n in notes])
            for kind, problem, row in self._bad:
                kept = Quarantined(f"csv:{kind}", f"{problem.file} row {problem.row}", problem.field,
                                   problem.reason, dict(row))
                session.add(QuarantineRow(connection=self.connection, run_id=self.run_id, object_type=kept.object_type,
                                          record_id=kept.record_id, field=kept.field, reason=kept.reason,
                                          raw=kept.raw, at=now))
        self.report.accounts, self.report.deals, self.report.notes = len(accounts), len(deals), len(notes)
        self.report.problems = [p for _, p, _ in self._bad]
        if accounts:
            declare(self.engine, self.connection, self.mapping.attribute_timing(), "csv import", now)
