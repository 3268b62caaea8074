"""Evidence from CSV files: accounts, deals and notes through a mapping file.

Either an accounts file and a deals file joined by the account key, or one flat
deals file whose rows also carry the account columns. Bad rows are reported with
the file, row number (the header is row 1) and field, kept in quarantine, and
never stop the rest from importing. See ``config/csv-mapping.example.yaml``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from sqlalchemy import Engine, select
from sqlmodel import Session

from worker.ingest.mapping import BadValue, FieldType, MappingError, parse_value, to_datetime
from worker.ingest.records import AccountRecord, DealRecord, EvidenceNote
from worker.ingest.sync import row_of
from worker.store import Account, Deal, EvidenceNoteRow, QuarantineRow, session_scope, upsert

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class Column(BaseModel):
    """A CSV column, its type and, for categories, which raw values mean each canonical value."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    column: str
    type: FieldType = "text"
    values: dict[str, list[str]] | None = None


def _column(value: Any, default: FieldType = "text") -> Any:
    return {"column": value, "type": default} if isinstance(value, str) else value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out = dict(value)
        for key, item in value.items():
            if key in ("attributes", "health") and isinstance(item, dict):
                out[key] = {k: _column(v) for k, v in item.items()}
            elif key not in ("outcome",) and isinstance(item, str):
                out[key] = _column(item, _DEFAULT_TYPES.get(key, "text"))
        return out


_DEFAULT_TYPES: dict[str, FieldType] = {"amount": "number", "created_at": "datetime", "closed_at": "datetime"}


class AccountColumns(_Section):
    """Account columns (in the accounts file, or in the flat deals file)."""

    id: Column
    name: Column | None = None
    owner: Column | None = None
    attributes: dict[str, Column] = {}
    health: dict[str, Column] = {}


class Outcome(BaseModel):
    """Which values of a column mean won and lost; anything else is open."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    column: str
    won: list[str]
    lost: list[str]


class DealColumns(_Section):
    """Deal columns."""

    id: Column
    account_id: Column
    outcome: Outcome
    owner: Column | None = None
    amount: Column | None = None
    created_at: Column | None = None
    closed_at: Column | None = None
    stage: Column | None = None
    loss_reason: Column | None = None
    competitor: Column | None = None
    lead_source: Column | None = None
    attributes: dict[str, Column] = {}


class NoteColumns(_Section):
    """Evidence-note columns."""

    text: Column
    id: Column | None = None
    account_id: Column | None = None
    deal_id: Column | None = None
    author: Column | None = None
    created_at: Column | None = None
    kind: Column | None = None


class CsvMapping(BaseModel):
    """A CSV mapping document."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    date_format: str | None = None
    accounts: AccountColumns
    deals: DealColumns | None = None
    notes: NoteColumns | None = None


def load_csv_mapping(path: str | Path) -> CsvMapping:
    """Load and validate a CSV mapping; errors name the key."""
    source = Path(path)
    try:
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
        return CsvMapping.model_validate(document)
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"{source}: cannot read the mapping: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise MappingError(f"{source}: invalid CSV mapping: {problems}") from None


@dataclass(frozen=True)
class RowProblem:
    """A row that could not be imported: where, which field, and why."""

    file: str
    row: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file} row {self.row}, field {self.field}: {self.reason}"


@dataclass
class ImportReport:
    """What an import took in and what it refused."""

    accounts: int = 0
    deals: int = 0
    notes: int = 0
    problems: list[RowProblem] = field(default_factory=list)


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, row) pairs; the header is row 1. NUL bytes are dropped; a BOM is ignored."""
    text = path.read_text(encoding="utf-8-sig", errors="replace").replace("\x00", "")
    reader = csv.DictReader(io.StringIO(text))
    for number, row in enumerate(reader, start=2):
        yield number, {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}


class RowParser:
    """Typed values from one CSV row; raises :class:`_BadField` naming the column."""

    def __init__(self, date_format: str | None) -> None:
        self.date_format = date_format

    def value(self, row: Mapping[str, str], spec: Column | None) -> Any:
        if spec is None:
            return None
        if spec.column not in row:
            raise _BadField(spec.column, "column not found in the file")
        raw = row[spec.column]
        try:
            if spec.values is not None:
                return self._category(raw, spec)
            if spec.type in ("date", "datetime") and self.date_format and raw:
                try:
                    return parse_value(raw, spec.type)
                except BadValue:
                    moment = datetime.strptime(raw, self.date_format).replace(tzinfo=UTC)
                    return parse_value(moment, spec.type)
            return parse_value(raw, spec.type)
        except (BadValue, ValueError) as exc:
            raise _BadField(spec.column, str(exc)) from None

    @staticmethod
    def _category(raw: str, spec: Column) -> str | None:
        if not raw:
            return None
        wanted = raw.strip().lower()
        for canonical, raws in (spec.values or {}).items():
            if wanted in {r.strip().lower() for r in raws} or wanted == canonical.lower():
                return canonical
        known = ", ".join(f"{k} ({', '.join(v)})" for k, v in (spec.values or {}).items())
        raise BadValue(f"{raw!r} is none of the mapped values: {known}")

    def fields(self, row: Mapping[str, str], specs: Mapping[str, Column]) -> dict[str, Any]:
        return {name: self.value(row, spec) for name, spec in specs.items()}


class _BadField(Exception):
    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason
        super().__init__(reason)


def account_from_row(row: Mapping[str, str], cols: AccountColumns, parse: RowParser) -> AccountRecord:
    """A canonical account from a row (raises on a bad field)."""
    account_id = parse.value(row, cols.id)
    if not account_id:
        raise _BadField(cols.id.column, "empty account key")
    return AccountRecord(id=str(account_id), name=parse.value(row, cols.name), owner_id=parse.value(row, cols.owner),
                         attributes=parse.fields(row, cols.attributes), health=parse.fields(row, cols.health),
                         raw=dict(row))


def deal_from_row(row: Mapping[str, str], cols: DealColumns, parse: RowParser) -> DealRecord:
    """A canonical deal from a row (raises on a bad field)."""
    deal_id, account_id = parse.value(row, cols.id), parse.value(row, cols.account_id)
    if not deal_id:
        raise _BadField(cols.id.column, "empty deal key")
    raw_outcome = row.get(cols.outcome.column)
    if raw_outcome is None:
        raise _BadField(cols.outcome.column, "column not found in the file")
    lowered = raw_outcome.strip().lower()
    outcome: Literal["won", "lost", "open"] = (
        "won" if lowered in {w.lower() for w in cols.outcome.won}
        else "lost" if lowered in {w.lower() for w in cols.outcome.lost} else "open")
    closed = to_datetime(parse.value(row, cols.closed_at))
    if outcome != "open" and cols.closed_at is not None and closed is None:
        raise _BadField(cols.closed_at.column, f"a {outcome} deal needs a close date")
    amount = parse.value(row, cols.amount)
    if amount is not None and amount < 0:
        raise _BadField(cols.amount.column if cols.amount else "amount", "negative amount")
    return DealRecord(id=str(deal_id), account_id=str(account_id) if account_id else None, outcome=outcome,
                      owner_id=parse.value(row, cols.owner), amount=amount,
                      created_at=to_datetime(parse.value(row, cols.created_at)), closed_at=closed,
                      stage=parse.value(row, cols.stage) or raw_outcome, loss_reason=parse.value(row, cols.loss_reason),
                      competitor=parse.value(row, cols.competitor), lead_source=parse.value(row, cols.lead_source),
                      attributes=parse.fields(row, cols.attributes), raw=dict(row))


def note_from_row(row: Mapping[str, str], cols: NoteColumns, parse: RowParser, file: str,
                  number: int) -> EvidenceNote:
    """A canonical evidence note from a row (raises on a bad field)."""
    text = parse.value(row, cols.text)
    if not text:
        raise _BadField(cols.text.column, "empty note text")
    note_id = parse.value(row, cols.id) or "csv-" + hashlib.sha1(f"{file}:{number}:{text}".encode()).hexdigest()[:16]
    return EvidenceNote(id=str(note_id), text=str(text), account_id=parse.value(row, cols.account_id),
                        deal_id=parse.value(row, cols.deal_id), author=parse.value(row, cols.author),
                        kind=parse.value(row, cols.kind), created_at=to_datetime(parse.value(row, cols.created_at)),
                        source="csv")


def _merge_accounts(session: Session, connection: str, accounts: dict[str, AccountRecord],
                    now: datetime) -> list[dict[str, Any]]:
    """Rows for upsert; CSV values fill in or replace, without erasing what the CRM gave."""
    ids = list(accounts)
    existing: dict[str, Account] = {}
    for start in range(0, len(ids), 500):
        existing.update({a.id: a for a in session.execute(select(Account).where(
            Account.connection == connection, Account.id.in_(ids[start:start + 500]))).scalars()})  # type: ignore[attr-defined]
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


class CsvImport:
    """Imports CSV evidence into one connection's store."""

    def __init__(self, engine: Engine, connection: str, mapping: CsvMapping, run_id: str) -> None:
        self.engine, self.connection, self.mapping, self.run_id = engine, connection, mapping, run_id
        self.parse = RowParser(mapping.date_format)
        self.report = ImportReport()
        self._bad: list[tuple[str, RowProblem, dict[str, str]]] = []

    def run(self, deals_file: Path | None, accounts_file: Path | None = None, notes_file: Path | None = None,
            now: datetime | None = None) -> ImportReport:
        """Read the files, store what parses, quarantine the rest."""
        moment = now or datetime.now(UTC)
        accounts: dict[str, AccountRecord] = {}
        deals: dict[str, DealRecord] = {}
        notes: list[EvidenceNote] = []
        if accounts_file is not None:
            self._collect(accounts_file, "accounts", lambda r, n: accounts.setdefault(
                (a := account_from_row(r, self.mapping.accounts, self.parse)).id, a))
        if deals_file is not None:
            if self.mapping.deals is None:
                raise MappingError("deals: the mapping has no deals section for the deals file")
            self._collect(deals_file, "deals", lambda r, n: self._deal_row(r, accounts, deals, accounts_file is None))
        if notes_file is not None:
            if self.mapping.notes is None:
                raise MappingError("notes: the mapping has no notes section for the notes file")
            cols = self.mapping.notes
            self._collect(notes_file, "notes", lambda r, n: notes.append(
                note_from_row(r, cols, self.parse, notes_file.name, n)))
        self._store(accounts, deals, notes, moment)
        return self.report

    def _deal_row(self, row: Mapping[str, str], accounts: dict[str, AccountRecord], deals: dict[str, DealRecord],
                  flat: bool) -> None:
        assert self.mapping.deals is not None
        deal = deal_from_row(row, self.mapping.deals, self.parse)
        if flat:
            account = account_from_row(row, self.mapping.accounts, self.parse)
            accounts.setdefault(account.id, account)
        deals[deal.id] = deal

    def _collect(self, path: Path, kind: str, take: Any) -> None:
        try:
            rows = list(read_rows(path))
        except OSError as exc:
            raise MappingError(f"{path}: cannot read: {exc.strerror}") from None
        for number, row in rows:
            try:
                take(row, number)
            except _BadField as exc:
                self._bad.append((kind, RowProblem(path.name, number, exc.field, exc.reason), row))

    def _store(self, accounts: dict[str, AccountRecord], deals: dict[str, DealRecord], notes: list[EvidenceNote],
               now: datetime) -> None:
        with session_scope(self.engine) as session:
            upsert(session, Account, _merge_accounts(session, self.connection, accounts, now))
            upsert(session, Deal, [row_of(self.connection, d, now) for d in deals.values()])
            upsert(session, EvidenceNoteRow, [row_of(self.connection, n, now) for n in notes])
            for kind, problem, row in self._bad:
                session.add(QuarantineRow(connection=self.connection, run_id=self.run_id, object_type=f"csv:{kind}",
                                          record_id=f"{problem.file} row {problem.row}", field=problem.field,
                                          reason=problem.reason, raw=dict(row), at=now))
        self.report.accounts, self.report.deals, self.report.notes = len(accounts), len(deals), len(notes)
        self.report.problems = [p for _, p, _ in self._bad]
