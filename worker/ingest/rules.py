"""Input rules in one place: what any value must look like before it reaches the store.

Every path that takes records in (the CRM sync through :class:`worker.ingest.mapping.Normaliser`,
the CSV import, ``icp score-file``) applies the same rules, so SQLite and PostgreSQL see the same,
storable data:

* text is cleaned of NUL and other control characters (tab and line breaks are kept; lone UTF-16
  surrogates are dropped), including the raw values kept beside each record;
* identifiers and values bound for length-limited columns are checked against those limits;
* impossible values are refused with their reason: negative counts and sizes, an NPS outside
  -100..100, a margin above 100%, a year or a date before 1900 or after next year.

A value that breaks a rule raises :class:`RuleBroken` naming the canonical field; the callers
translate it into a quarantine entry naming the CRM field or CSV column.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from worker.ingest.records import AccountRecord, DealRecord, EvidenceNote, OwnerRecord
from worker.ingest.text import clean, clean_text

__all__ = ["RuleBroken", "admit", "check_id", "check_moment", "check_value", "clean", "clean_text"]

ID_LIMIT = 64
"""Longest account, deal and owner id the store keeps (its key columns)."""
NOTE_ID_LIMIT = 128
VALUE_LIMIT = 10_000
"""Longest text value of an attribute or health field."""
COLUMN_LIMITS: dict[str, int] = {"owner_id": ID_LIMIT, "account_id": ID_LIMIT, "deal_id": ID_LIMIT,
                                 "stage": 128, "pipeline": 128, "lead_source": 128, "kind": 64, "author": 256,
                                 "email": 320, "name": 256}
"""Limits of the store's fixed-length columns, by canonical field (a deal's or note's name is unlimited)."""
NOT_NEGATIVE = frozenset({"employees", "annual_revenue", "amount", "support_tickets", "time_to_value_days",
                          "web_visits_30d", "revenue", "headcount", "seats", "users", "locations"})
"""Counts and sizes that cannot be negative."""
RANGES: dict[str, tuple[float, float]] = {"nps": (-100.0, 100.0), "gross_margin_pct": (-1000.0, 100.0),
                                          "override_score": (0.0, 100.0)}
FIRST_YEAR = 1900


class RuleBroken(ValueError):
    """A value that breaks an input rule; ``field`` is the canonical field, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


def last_year() -> int:
    """The latest year a date may fall in: next year."""
    return datetime.now(UTC).year + 1


def check_moment(moment: datetime | date, field: str = "date") -> None:
    """Refuse a date before 1900 or after the end of next year."""
    if not FIRST_YEAR <= moment.year <= last_year():
        raise RuleBroken(field, f"{moment.isoformat()} is before {FIRST_YEAR} or after {last_year()}")


def check_id(value: str | None, field: str, limit: int = ID_LIMIT) -> None:
    """Refuse an identifier longer than the store keeps."""
    if value is not None and len(value) > limit:
        raise RuleBroken(field, f"{len(value)} characters; an identifier may have at most {limit}")


def check_value(name: str, value: Any) -> None:
    """Refuse an impossible value of the canonical field ``name`` (see the module docstring)."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, str):
        if len(value) > VALUE_LIMIT:
            raise RuleBroken(name, f"{len(value)} characters; a value may have at most {VALUE_LIMIT}")
        return
    if isinstance(value, (datetime, date)):
        check_moment(value, name)
        return
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return
    if name in NOT_NEGATIVE and value < 0:
        raise RuleBroken(name, f"{value:g} is negative; a count or size cannot be")
    low, high = RANGES.get(name, (-math.inf, math.inf))
    if not low <= value <= high:
        raise RuleBroken(name, f"{value:g} is outside {low:g}..{high:g}")
    if name.endswith("_year") or name == "founded":
        if not FIRST_YEAR - 200 <= value <= last_year():
            raise RuleBroken(name, f"{value:g} is not a plausible year (up to {last_year()})")


def _check_columns(values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        limit = COLUMN_LIMITS.get(name)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            raise RuleBroken(name, f"{len(value)} characters; this field may have at most {limit}")


def _check_fields(values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        check_value(name, value)


def admit(record: AccountRecord | DealRecord | EvidenceNote | OwnerRecord) -> None:
    """Check a canonical record against every rule; raises :class:`RuleBroken` on the first broken one."""
    if isinstance(record, EvidenceNote):
        check_id(record.id, "id", NOTE_ID_LIMIT)
        _check_columns({"account_id": record.account_id, "deal_id": record.deal_id, "kind": record.kind,
                        "author": record.author})
        if record.created_at is not None:
            check_moment(record.created_at, "created_at")
        return
    check_id(record.id, "id")
    if isinstance(record, OwnerRecord):
        _check_columns({"email": record.email, "name": record.name})
        return
    if isinstance(record, AccountRecord):
        _check_columns({"owner_id": record.owner_id})
        _check_fields(record.attributes)
        _check_fields(record.health)
        check_value("override_score", record.override_score)
        return
    _check_columns({"account_id": record.account_id, "owner_id": record.owner_id, "stage": record.stage,
                    "pipeline": record.pipeline, "lead_source": record.lead_source})
    _check_fields({"amount": record.amount, **record.attributes})
    for name in ("created_at", "closed_at"):
        moment = getattr(record, name)
        if moment is not None:
            check_moment(moment, name)
