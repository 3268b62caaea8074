"""Which attributes are analysed, and a note for every one left out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from worker.ingest.records import HEALTH_FIELDS
from worker.refine.dataset import Column
from worker.refine.settings import RefineSettings

MIN_DISTINCT_FOR_TEXT = 20


@dataclass(frozen=True)
class SkippedAttribute:
    """An attribute not analysed, and why."""

    attribute: str
    source: Literal["account", "deal"]
    reason: str


def _skip_reason(column: Column, settings: RefineSettings) -> str | None:
    if settings.is_ignored(column.name):
        return "excluded from analysis by configuration (identifier, name, free text or owner)"
    if settings.is_leaky(column.name):
        return "written when or after a deal closes, so it would reveal the outcome"
    if column.name in HEALTH_FIELDS:
        return "a customer-health field: used for cohorts, never as a fit criterion"
    if column.kind == "date":
        return "a date: not scored (derive an age or a recency attribute to use it)"
    if column.n_present == 0:
        return "empty for every closed deal in the window"
    if column.kind == "categorical" and (
        column.n_distinct > settings.max_category_levels
        or (
            column.n_distinct > MIN_DISTINCT_FOR_TEXT
            and column.n_distinct > settings.max_distinct_share * column.n_present
        )
    ):
        return (
            f"looks like free text or an identifier ({column.n_distinct} distinct values in "
            f"{column.n_present} filled); map it to a few categories to analyse it"
        )
    return None


def analysable(
    columns: Mapping[str, Column], settings: RefineSettings, source: Literal["account", "deal"]
) -> tuple[list[Column], list[SkippedAttribute]]:
    """Split columns into those analysed and those skipped (with the reason).

    Args:
        columns: Attribute columns by name.
        settings: Ignore lists and the free-text limits.
        source: Whether these are account attributes or deal-level fields.
    """
    kept: list[Column] = []
    skipped: list[SkippedAttribute] = []
    for column in columns.values():
        reason = _skip_reason(column, settings)
        if reason is None:
            kept.append(column)
        else:
            skipped.append(SkippedAttribute(column.name, source, reason))
    return kept, skipped
