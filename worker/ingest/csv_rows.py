"""Rows of a CSV file as canonical records: strict reading, typed values, the input rules, and refusals that
name the file, the line (the header is line 1) and the column."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from worker.ingest import csv_read
from worker.ingest.csv_mapping import AccountColumns, Column, DealColumns, NoteColumns, Outcome
from worker.ingest.mapping import BadValue, ImpossibleValue, MappingError, parse_value, to_datetime
from worker.ingest.records import AccountRecord, DealRecord, EvidenceNote
from worker.ingest.rules import RuleBroken, admit


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
        owner_id=parse.value(row, cols.owner), amount=amount,
        created_at=to_datetime(parse.value(row, cols.created_at)),
        closed_at=to_datetime(parse.value(row, cols.closed_at)),
        stage=parse.value(row, cols.stage) or raw_outcome or None,
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
