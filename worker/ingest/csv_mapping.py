"""The CSV mapping document: for each canonical field, the column, its type and its translations.

See ``config/csv-mapping.example.yaml``; :func:`load_csv_mapping` validates a file, naming each bad key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from worker.ingest.csv_read import check_encoding
from worker.ingest.mapping import FieldType, KnownWhen, MappingError

__all__ = ["AccountColumns", "Column", "CsvMapping", "DealColumns", "NoteColumns", "Outcome", "load_csv_mapping"]


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
