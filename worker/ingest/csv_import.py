"""Evidence from CSV files: accounts, deals and notes through a mapping file.

Either an accounts file and a deals file joined by the account key, or one flat
deals file whose rows also carry the account columns. Bad rows are reported with
the file, row number (the header is row 1) and field, kept in quarantine, and
never stop the rest from importing. See ``config/csv-mapping.example.yaml``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from sqlalchemy import Engine, select
from sqlmodel import Session

from worker.ingest import csv_read
from worker.ingest.csv_read import check_encoding
from worker.ingest.mapping import (BadValue, FieldType, ImpossibleValue, KnownWhen, MappingError, parse_value,
                                   to_datetime)
from worker.ingest.history import declare
from worker.ingest.records import AccountRecord, DealRecord, EvidenceNote, Quarantined
from worker.ingest.rules import RuleBroken, admit
from worker.ingest.sync import row_of
from worker.store import Account, Deal, EvidenceNoteRow, QuarantineRow, session_scope, upsert


class Column(BaseModel):
    """A CSV column, its type and, for categories, which raw values mean each canonical value.

    ``known`` says when an attribute's value is known relative to a deal's close (``before_close`` or
    ``after_close``); refinement never scores what is only known after the close.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    column: str
    type: FieldType = "text"
    values: dict[str, list[str]] | None = None
    known: KnownWhen | None = None


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
    """Account columns (in the accounts file, or in the flat deals file).

    Without ``id`` each row is an account of its own, keyed by the file and its line.
    """

    id: Column | None = None
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
    """Deal columns. Without ``id`` a deal is keyed by the file and its line; without ``account_id`` a flat
    file's deal belongs to the account on its own row."""

    id: Column | None = None
    account_id: Column | None = None
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
    """A CSV mapping document.

    ``delimiter`` is one character (default ``,``; ``;`` for many European exports, ``\t`` or ``tab``
    for tab-separated files). ``encoding`` names the files' encoding (default UTF-8, or what a byte-order
    mark says); a file that does not decode in it is refused, never read with replacement characters.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    date_format: str | None = None
    delimiter: str = ","
    encoding: str | None = None
    accounts: AccountColumns
    deals: DealColumns | None = None
    notes: NoteColumns | None = None

    @field_validator("delimiter", mode="before")
    @classmethod
    def _delimiter(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}.get(value, value)
        if not isinstance(value, str) or len(value) != 1 or value in "\"\r\n" or value.isalnum():
            raise ValueError(f"delimiter must be one character such as , ; | or tab, not {value!r}")
        return value

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        return None if value is None else (check_encoding(value) and value)

    def attribute_timing(self) -> dict[str, KnownWhen]:
        """The declared ``known:`` of each account attribute that has one."""
        return {k: c.known for k, c in self.accounts.attributes.items() if c.known is not None}


def load_csv_mapping(path: str | Path) -> CsvMapping:
    """Load and validate a CSV mapping; errors name the key."""
    source = Path(path)
    try:
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
        return CsvMapping.model_validate(document)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
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
    kept: bool = False

    def __str__(self) -> str:
        return f"{self.file} row {self.row}, field {self.field}: {self.reason}"


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


def read_rows(path: Path, delimiter: str = ",", encoding: str | None = None,
              problems: list[RowProblem] | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) pairs of the rows that parse (the header is line 1; see :mod:`worker.ingest.csv_read`).

    A row the reader refuses (a stray quote, a wrong number of fields) is appended to ``problems``.

    Raises:
        MappingError: The file cannot be read or decoded, or its header is empty or repeats a column.
    """
    try:
        for item in csv_read.rows(csv_read.read_text(path, encoding), path.name, delimiter):
            if isinstance(item, csv_read.BadLine):
                if problems is not None:
                    problems.append(RowProblem(path.name, item.line, "(row)", item.reason))
                continue
            yield item
    except csv_read.CsvFileError as exc:
        raise MappingError(str(exc)) from None


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
                except ImpossibleValue:
                    raise
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


def _admit(record: AccountRecord | DealRecord | EvidenceNote, sources: Mapping[str, Column | None]) -> None:
    """Apply the input rules (:mod:`worker.ingest.rules`); a broken one names the CSV column."""
    try:
        admit(record)
    except RuleBroken as exc:
        spec = sources.get(exc.field)
        raise _BadField(spec.column if spec is not None else exc.field, exc.reason) from None


def row_key(file: str, line: int) -> str:
    """The key of a record in a file whose mapping names no id column: the file's name and the line."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(file).stem).strip("-")[:40] or "row"
    return f"{stem}-{line}"


def account_from_row(row: Mapping[str, str], cols: AccountColumns, parse: RowParser,
                     key: str | None = None) -> AccountRecord:
    """A canonical account from a row (raises on a bad field); ``key`` when the mapping names no id column."""
    account_id = parse.value(row, cols.id) if cols.id is not None else key
    if not account_id:
        raise _BadField(cols.id.column if cols.id else "id", "empty account key")
    record = AccountRecord(id=str(account_id), name=parse.value(row, cols.name),
                           owner_id=parse.value(row, cols.owner), attributes=parse.fields(row, cols.attributes),
                           health=parse.fields(row, cols.health), raw=dict(row))
    _admit(record, {"id": cols.id, "owner_id": cols.owner, **cols.attributes, **cols.health})
    return record


def deal_from_row(row: Mapping[str, str], cols: DealColumns, parse: RowParser, key: str | None = None,
                  account: str | None = None) -> DealRecord:
    """A canonical deal from a row (raises on a bad field). A closed deal without a close date is kept.

    ``key`` and ``account`` stand in for the deal's id and account when the mapping names no such column.
    """
    deal_id = parse.value(row, cols.id) if cols.id is not None else key
    account_id = parse.value(row, cols.account_id) if cols.account_id is not None else account
    if not deal_id:
        raise _BadField(cols.id.column if cols.id else "id", "empty deal key")
    raw_outcome = row.get(cols.outcome.column)
    if raw_outcome is None:
        raise _BadField(cols.outcome.column, "column not found in the file")
    lowered = raw_outcome.strip().lower()
    outcome: Literal["won", "lost", "open"] = (
        "won" if lowered in {w.lower() for w in cols.outcome.won}
        else "lost" if lowered in {w.lower() for w in cols.outcome.lost} else "open")
    amount = parse.value(row, cols.amount)
    record = DealRecord(
        id=str(deal_id), account_id=str(account_id) if account_id else None, outcome=outcome,
        owner_id=parse.value(row, cols.owner), amount=amount, created_at=to_datetime(parse.value(row, cols.created_at)),
        closed_at=to_datetime(parse.value(row, cols.closed_at)), stage=parse.value(row, cols.stage) or raw_outcome or None,
        loss_reason=parse.value(row, cols.loss_reason), competitor=parse.value(row, cols.competitor),
        lead_source=parse.value(row, cols.lead_source), attributes=parse.fields(row, cols.attributes), raw=dict(row))
    _admit(record, {"id": cols.id, "account_id": cols.account_id, "owner_id": cols.owner, "amount": cols.amount,
                    "created_at": cols.created_at, "closed_at": cols.closed_at, "stage": cols.stage,
                    "lead_source": cols.lead_source, **cols.attributes})
    return record


def note_from_row(row: Mapping[str, str], cols: NoteColumns, parse: RowParser, file: str,
                  number: int) -> EvidenceNote:
    """A canonical evidence note from a row (raises on a bad field)."""
    text = parse.value(row, cols.text)
    if not text:
        raise _BadField(cols.text.column, "empty note text")
    note_id = parse.value(row, cols.id) or "csv-" + hashlib.sha1(f"{file}:{number}:{text}".encode()).hexdigest()[:16]
    record = EvidenceNote(id=str(note_id), text=str(text), account_id=parse.value(row, cols.account_id),
                          deal_id=parse.value(row, cols.deal_id), author=parse.value(row, cols.author),
                          kind=parse.value(row, cols.kind), created_at=to_datetime(parse.value(row, cols.created_at)),
                          source="csv")
    _admit(record, {"id": cols.id, "account_id": cols.account_id, "deal_id": cols.deal_id, "author": cols.author,
                    "kind": cols.kind, "created_at": cols.created_at})
    return record


def _columns_of(section: BaseModel) -> list[str]:
    """Every CSV column a mapping section names."""
    names: list[str] = []
    for value in section.__dict__.values():
        if isinstance(value, (Column, Outcome)):
            names.append(value.column)
        elif isinstance(value, dict):
            names += [c.column for c in value.values() if isinstance(c, Column)]
    return list(dict.fromkeys(names))


def check_header(path: Path, row: Mapping[str, str], *sections: BaseModel | None) -> None:
    """Refuse a file whose header lacks a column the mapping names (an export of another table, an HTML page)."""
    missing = [c for section in sections if section is not None for c in _columns_of(section) if c not in row]
    if missing:
        found = ", ".join(list(row)[:12]) or "nothing"
        raise MappingError(f"{path.name}: columns named in the mapping are not in the header: "
                           f"{', '.join(dict.fromkeys(missing))} (the header has: {found})")


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
                self.mapping.accounts.id is None or self.mapping.deals is None or self.mapping.deals.account_id is None):
            raise MappingError("to join an accounts file to a deals file the mapping must name accounts.id and "
                               "deals.account_id")
        if accounts_file is not None:
            self._collect(accounts_file, "accounts", (self.mapping.accounts,), lambda r, n: self._once(
                "accounts", account_from_row(r, self.mapping.accounts, self.parse, row_key(accounts_file.name, n)),
                accounts, n))
        if deals_file is not None:
            flat = accounts_file is None
            sections = (self.mapping.deals, self.mapping.accounts if flat else None)
            self._collect(deals_file, "deals", sections, lambda r, n: self._deal_row(r, n, accounts, deals, flat,
                                                                                   deals_file.name))
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
            raise _BadField(key.column if key is not None else "id", f"duplicate {kind[:-1]} key {record.id!r}: already on row {first}; "
                                        "the first is kept")
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
