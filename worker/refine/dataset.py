"""Columnar refinement data built from canonical records.

One row per closed deal (won or lost) in the analysis window, with its account's
attributes and health beside the deal's own fields; plus every live account with
its open pipeline, for the impact preview. Attribute types are inferred from the
values: numbers are numeric, everything else (booleans included) is categorical.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from worker.ingest.records import HEALTH_FIELDS, AccountRecord, DealRecord, EvidenceNote
from worker.refine.timing import AttributeTiming
from worker.score.scorecard.model import normalise_category

ColumnKind = Literal["numeric", "categorical", "date"]
FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]
SECONDS_PER_DAY = 86_400.0
NUMERIC_SHARE = 0.95


@dataclass(frozen=True)
class Column:
    """One attribute as a column: floats (NaN when missing) or normalised text (None when missing)."""

    name: str
    kind: ColumnKind
    values: npt.NDArray[Any]
    n_present: int
    n_distinct: int

    def take(self, rows: npt.NDArray[np.intp]) -> Column:
        """The column restricted to ``rows`` (counts recomputed for those rows)."""
        return _column(self.name, self.kind, self.values[rows])

    @property
    def present(self) -> npt.NDArray[np.bool_]:
        """Whether each value is filled."""
        return _present(self.values, self.kind)

    @cached_property
    def factorized(self) -> tuple[tuple[str, ...], npt.NDArray[np.int64]]:
        """Distinct filled values (sorted) and each row's index into them (-1 when missing)."""
        index: dict[Any, int] = {}
        raw = [index.setdefault(v, len(index)) if v is not None else -1 for v in self.values.tolist()]
        levels = sorted(index, key=str)
        remap = np.array([index[v] for v in levels], dtype=np.int64)
        order = np.empty(len(levels), dtype=np.int64)
        order[remap] = np.arange(len(levels))
        codes = np.array(raw, dtype=np.int64)
        return tuple(str(v) for v in levels), np.where(codes >= 0, order[np.maximum(codes, 0)], -1)


@dataclass(frozen=True)
class HealthColumns:
    """Customer-health fields per row (see :data:`worker.ingest.records.HEALTH_FIELDS`)."""

    retention_status: ObjectArray
    churned: npt.NDArray[np.bool_]
    nps: FloatArray
    support_tickets: FloatArray
    gross_margin_pct: FloatArray
    time_to_value_days: FloatArray
    delivery_fit: ObjectArray

    def take(self, rows: npt.NDArray[np.intp]) -> HealthColumns:
        """The health columns restricted to ``rows``."""
        return HealthColumns(*(getattr(self, f)[rows] for f in self.__dataclass_fields__))

    @property
    def any_known(self) -> npt.NDArray[np.bool_]:
        """Rows with at least one health field filled."""
        known = (self.retention_status != None) | (self.delivery_fit != None) | self.churned  # noqa: E711
        for values in (self.nps, self.support_tickets, self.gross_margin_pct, self.time_to_value_days):
            known |= ~np.isnan(values)
        return known


@dataclass(frozen=True)
class Population:
    """Every live account, for the impact preview: attributes and open pipeline."""

    account_ids: ObjectArray
    columns: Mapping[str, Column]
    open_pipeline: FloatArray
    open_deals: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.account_ids)


@dataclass(frozen=True)
class RefinementInput:
    """Closed deals in the window (and closed deals without a close date), as columns, with their accounts'
    attributes and health.

    Attributes:
        deal_ids: Deal id per row.
        account_ids: Account id per row (None when the deal has no account).
        won: True for closed-won, False for closed-lost.
        amount: Deal amount (NaN when unknown).
        created_at: Deal creation time, POSIX seconds (NaN when unknown).
        closed_at: Deal close time, POSIX seconds (NaN when the deal has no close date).
        loss_reason: Normalised loss reason text (None when empty).
        competitor: Normalised competitor (None when empty).
        account_columns: Account attributes per row, by attribute name.
        deal_columns: Deal-level fields per row (lead source, pipeline and deal attributes).
        health: The account's health per row.
        population: Every live account with its open pipeline.
        notes: Evidence notes (interviews, win/loss, churn, delivery notes).
        now: The reference time of the run.
        window_start: Start of the analysis window.
        window_months: Length of the window.
        excluded: Deals left out of the analysis, by reason.
        timing: When each account attribute is known (mapping declaration, CRM property history); attributes
            not listed carry no such evidence.
    """

    deal_ids: ObjectArray
    account_ids: ObjectArray
    won: npt.NDArray[np.bool_]
    amount: FloatArray
    created_at: FloatArray
    closed_at: FloatArray
    loss_reason: ObjectArray
    loss_reason_raw: ObjectArray
    competitor: ObjectArray
    account_columns: Mapping[str, Column]
    deal_columns: Mapping[str, Column]
    health: HealthColumns
    population: Population
    notes: tuple[EvidenceNote, ...]
    now: datetime
    window_start: datetime
    window_months: int
    excluded: Mapping[str, int] = field(default_factory=dict)
    timing: Mapping[str, AttributeTiming] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.deal_ids)

    @property
    def cycle_days(self) -> FloatArray:
        """Days from creation to close (NaN when unknown or negative)."""
        days = (self.closed_at - self.created_at) / SECONDS_PER_DAY
        return np.where(days >= 0, days, np.nan)

    def scoring_columns(self, rows: npt.NDArray[np.intp] | None = None) -> dict[str, npt.NDArray[Any]]:
        """Account attributes of ``rows`` (all rows by default) in the form the scorer reads."""
        if rows is None:
            return {name: c.values for name, c in self.account_columns.items()}
        return {name: c.values[rows] for name, c in self.account_columns.items()}

    @classmethod
    def from_records(
        cls,
        accounts: Sequence[AccountRecord],
        deals: Sequence[DealRecord],
        notes: Sequence[EvidenceNote],
        now: datetime,
        window_months: int = 18,
        timing: Mapping[str, AttributeTiming] | None = None,
    ) -> RefinementInput:
        """Build the columns from canonical records.

        Args:
            accounts: Every account known (deleted ones are left out of the population).
            deals: Every deal; open, deleted and out-of-window deals are counted and left out. Closed deals
                without a close date are kept: the window cannot place them, and validation then uses k-fold.
            notes: Evidence notes; kept as they are for quotes.
            now: Reference time; the window is the ``window_months`` calendar months before it.
            window_months: Length of the analysis window.
            timing: When each attribute is known (see ``worker.refine.timing``).

        Returns:
            The refinement input.
        """
        now_s = _timestamp(now)
        start = _months_before(_aware(now), window_months)
        start_s = start.timestamp()
        closed, excluded = _closed_in_window(deals, start_s, now_s)
        index = {a.id: i for i, a in enumerate(accounts)}
        no_account = len(accounts)
        deal_rows = np.array(
            [index.get(d.account_id, no_account) if d.account_id else no_account for d in closed], dtype=np.intp
        )
        table = _columns(_keys(a.attributes for a in accounts), [a.attributes for a in accounts] + [{}])
        health_rows = [a.health for a in accounts] + [{}]
        return cls(
            deal_ids=_objects(d.id for d in closed),
            account_ids=_objects(d.account_id for d in closed),
            won=np.array([d.outcome == "won" for d in closed], dtype=bool),
            amount=_floats(d.amount for d in closed),
            created_at=_floats(_timestamp(d.created_at) for d in closed),
            closed_at=_floats(_timestamp(d.closed_at) for d in closed),
            loss_reason=_objects(normalise_category(d.loss_reason) for d in closed),
            loss_reason_raw=_objects(d.loss_reason for d in closed),
            competitor=_objects(normalise_category(d.competitor) for d in closed),
            account_columns={name: column.take(deal_rows) for name, column in table.items()},
            deal_columns=_deal_columns(closed),
            health=_health([health_rows[i] for i in deal_rows]),
            population=_population(accounts, deals, table),
            notes=tuple(notes),
            now=_aware(now),
            window_start=start,
            window_months=window_months,
            excluded=excluded,
            timing=dict(timing or {}),
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _timestamp(moment: datetime | date | None) -> float:
    if moment is None:
        return math.nan
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    return _aware(moment).timestamp()


def _months_before(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _closed_in_window(
    deals: Sequence[DealRecord], start_s: float, now_s: float
) -> tuple[list[DealRecord], dict[str, int]]:
    excluded = {"open": 0, "deleted": 0, "closed before the window": 0, "closed after now": 0}
    kept: list[DealRecord] = []
    for deal in deals:
        closed_s = _timestamp(deal.closed_at)
        if deal.deleted:
            excluded["deleted"] += 1
        elif deal.outcome not in ("won", "lost"):
            excluded["open"] += 1
        elif math.isnan(closed_s):
            kept.append(deal)  # undated evidence is analysed (validation then uses k-fold), never dropped
        elif closed_s < start_s:
            excluded["closed before the window"] += 1
        elif closed_s > now_s:
            excluded["closed after now"] += 1
        else:
            kept.append(deal)
    return kept, excluded


def _keys(mappings: Iterable[Mapping[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for mapping in mappings:
        for key in mapping:
            seen.setdefault(key, None)
    return list(seen)


def _objects(values: Iterable[Any]) -> ObjectArray:
    items = list(values)
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _floats(values: Iterable[Any]) -> FloatArray:
    return np.array([_as_float(v) for v in values], dtype=np.float64)


def _as_float(value: Any) -> float:
    if value is None or isinstance(value, bool):
        return math.nan
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).replace(",", "").strip())
    except ValueError:
        return math.nan


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _is_filled(value: Any) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return not (isinstance(value, str) and not value.strip())


def infer_column(name: str, raw: Sequence[Any]) -> Column:
    """Build a column from raw values, inferring its kind.

    Numbers (or text that parses as a number in at least 95% of filled values) are numeric;
    dates are kept as dates (never scored); everything else, booleans included, is categorical.
    """
    filled = [v for v in raw if _is_filled(v)]
    if filled and all(isinstance(v, (datetime, date)) for v in filled):
        values = _floats(_timestamp(v) if isinstance(v, (datetime, date)) else None for v in raw)
        return _column(name, "date", values)
    if filled and not any(isinstance(v, (bool, np.bool_)) for v in filled):
        if all(_is_number(v) for v in filled):
            return _column(name, "numeric", np.array([v if _is_number(v) else math.nan for v in raw], dtype=np.float64))
        if _mostly_numbers(filled):
            return _column(name, "numeric", _floats(raw))
    return _column(name, "categorical", _objects(_normalised(raw)))


def _mostly_numbers(filled: Sequence[Any]) -> bool:
    allowed = (1 - NUMERIC_SHARE) * len(filled)
    failures = 0
    for value in filled:
        if not _is_number(value) and math.isnan(_as_float(value)):
            failures += 1
            if failures > allowed:
                return False
    return True


def _column(name: str, kind: ColumnKind, values: npt.NDArray[Any]) -> Column:
    present = _present(values, kind)
    return Column(name, kind, values, int(present.sum()), len(set(values[present].tolist())))


def _normalised(raw: Sequence[Any]) -> list[str | None]:
    cache: dict[tuple[type, Any], str | None] = {}
    out: list[str | None] = []
    for value in raw:
        if not isinstance(value, (str, int, float, bool)):
            out.append(normalise_category(value))
            continue
        key = (type(value), value)
        if key not in cache:
            cache[key] = normalise_category(value)
        out.append(cache[key])
    return out


def _present(values: npt.NDArray[Any], kind: ColumnKind) -> npt.NDArray[np.bool_]:
    if kind == "categorical":
        return values != None  # noqa: E711
    return ~np.isnan(values)


def _columns(names: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> dict[str, Column]:
    return {name: infer_column(name, [row.get(name) for row in rows]) for name in names if name not in HEALTH_FIELDS}


def _deal_columns(deals: Sequence[DealRecord]) -> dict[str, Column]:
    columns = {
        "lead_source": infer_column("lead_source", [d.lead_source for d in deals]),
        "pipeline": infer_column("pipeline", [d.pipeline for d in deals]),
    }
    for name in _keys(d.attributes for d in deals):
        if name not in columns:
            columns[name] = infer_column(name, [d.attributes.get(name) for d in deals])
    return columns


def _health(rows: Sequence[Mapping[str, Any]]) -> HealthColumns:
    retention = _objects(normalise_category(r.get("retention_status")) for r in rows)
    churn_dated = np.array([normalise_category(r.get("churn_date")) is not None for r in rows], dtype=bool)
    return HealthColumns(
        retention_status=retention,
        churned=(retention == "churned") | churn_dated,
        nps=_floats(r.get("nps") for r in rows),
        support_tickets=_floats(r.get("support_tickets") for r in rows),
        gross_margin_pct=_floats(r.get("gross_margin_pct") for r in rows),
        time_to_value_days=_floats(r.get("time_to_value_days") for r in rows),
        delivery_fit=_objects(normalise_category(r.get("delivery_fit")) for r in rows),
    )


def _population(
    accounts: Sequence[AccountRecord], deals: Sequence[DealRecord], table: Mapping[str, Column]
) -> Population:
    live_rows = np.array([i for i, a in enumerate(accounts) if not a.deleted], dtype=np.intp)
    position = {accounts[i].id: k for k, i in enumerate(live_rows.tolist())}
    pipeline = np.zeros(len(live_rows))
    open_deals = np.zeros(len(live_rows), dtype=np.int64)
    for deal in deals:
        row = position.get(deal.account_id) if deal.account_id else None
        if row is None or deal.deleted or deal.outcome != "open":
            continue
        open_deals[row] += 1
        amount = _as_float(deal.amount)
        if not math.isnan(amount):
            pipeline[row] += amount
    return Population(
        account_ids=_objects(accounts[i].id for i in live_rows.tolist()),
        columns={name: column.take(live_rows) for name, column in table.items()},
        open_pipeline=pipeline,
        open_deals=open_deals,
    )
