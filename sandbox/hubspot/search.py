"""The CRM search engine: filterGroups, one sort, offset paging and the result cap.

Numbers, dates, datetimes and booleans compare as numbers (dates as epoch ms; filter values may be
ms strings or ISO); other properties compare as case-insensitive strings. Records without a value
match only HAS_PROPERTY's opposite (NOT_HAS_PROPERTY) and NOT_CONTAINS_TOKEN. Ties in the sort
order are broken by ascending id.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from sandbox.hubspot import values as fmt
from sandbox.hubspot.portal import Portal
from sandbox.hubspot.schema import PropertyDef
from sandbox.hubspot.store import ObjectStore

__all__ = ["SearchError", "search", "MAX_LIMIT", "OPERATORS"]

MAX_LIMIT = 200
MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 10
MAX_FILTERS = 25
OPERATORS = frozenset({"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY",
                       "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"})
QUERY_PROPERTIES: dict[str, tuple[str, ...]] = {
    "companies": ("name", "domain"),
    "deals": ("dealname",),
    "notes": ("hs_note_body",),
    "tasks": ("hs_task_subject", "hs_task_body"),
}
_WORD = re.compile(r"\w+")


class SearchError(ValueError):
    """A search request HubSpot would answer with 400."""


def _integer(value: Any, name: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise SearchError(f"Invalid {name}: {value!r}") from None


def search(portal: Portal, object_type: str, body: dict[str, Any] | None, cap: int) -> dict[str, Any]:
    """Run a search request body; returns the response body or raises SearchError."""
    body = body or {}
    store = portal.stores[object_type]
    limit = _integer(body.get("limit", 10), "limit")
    after = _integer(body.get("after") or 0, "after")
    if not 0 <= limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 0 and {MAX_LIMIT}, got {limit}")
    if after >= cap:
        raise SearchError(f"Paging beyond {cap} results is not supported: the search endpoints return at most "
                          f"{cap} results per query (after={after}). Narrow the query with filters.")
    rows = np.flatnonzero(_groups_mask(store, body.get("filterGroups") or []) & _query_mask(store, body.get("query")))
    rows = _sort(store, rows, body.get("sorts") or [])
    total = len(rows)
    end = min(after + limit, total, cap)
    names = portal.property_names(object_type, body.get("properties") or [])
    result: dict[str, Any] = {"total": total,
                              "results": [portal.record(object_type, int(r), names) for r in rows[after:end]]}
    if limit and end < total:
        result["paging"] = {"next": {"after": str(end), "link": f"?after={end}"}}
    return result


def _groups_mask(store: ObjectStore, groups: list[dict[str, Any]]) -> np.ndarray:
    n = len(store)
    if not groups:
        return np.ones(n, dtype=bool)
    counts = [len(g.get("filters") or []) for g in groups]
    if len(groups) > MAX_GROUPS or max(counts) > MAX_FILTERS_PER_GROUP or sum(counts) > MAX_FILTERS:
        raise SearchError(f"Too many filters: at most {MAX_GROUPS} filterGroups, {MAX_FILTERS_PER_GROUP} filters "
                          f"per group and {MAX_FILTERS} filters in total")
    mask = np.zeros(n, dtype=bool)
    for group in groups:
        group_mask = np.ones(n, dtype=bool)
        for flt in group.get("filters") or []:
            group_mask &= _filter_mask(store, flt)
        mask |= group_mask
    return mask


def _query_mask(store: ObjectStore, query: Any) -> np.ndarray:
    if not query:
        return np.ones(len(store), dtype=bool)
    needle = str(query).casefold()
    mask = np.zeros(len(store), dtype=bool)
    for name in QUERY_PROPERTIES.get(store.object_type, ()):
        mask |= np.array([t is not None and needle in t.casefold() for t in store.texts(name)], dtype=bool)
    return mask


def _definition(store: ObjectStore, name: Any) -> PropertyDef:
    definition = store.registry.get(str(name))
    if definition is None:
        raise SearchError(f"Unknown property: {name!r} does not exist on {store.object_type}")
    return definition


def _filter_mask(store: ObjectStore, flt: dict[str, Any]) -> np.ndarray:
    op = str(flt.get("operator", "")).upper()
    if op not in OPERATORS:
        raise SearchError(f"Unknown operator: {flt.get('operator')!r}")
    definition = _definition(store, flt.get("propertyName"))
    if "TOKEN" in op:
        texts = store.texts(definition.name)
        hits = np.array([_has_tokens(t, str(flt.get("value", ""))) for t in texts], dtype=bool)
        return hits if op == "CONTAINS_TOKEN" else ~hits
    if definition.numeric:
        return _numeric_mask(store.numbers(definition.name), op, flt, definition)
    return _text_mask(store.texts(definition.name), op, flt)


def _to_number(definition: PropertyDef, raw: Any) -> float:
    try:
        if definition.type in ("date", "datetime"):
            return float(fmt.parse_instant(raw))
        if definition.type == "bool":
            return 1.0 if fmt.parse_bool(raw) else 0.0
        return float(raw)
    except (TypeError, ValueError):
        raise SearchError(f"{raw!r} is not a valid value for {definition.name} ({definition.type})") from None


def _numeric_mask(values: np.ndarray, op: str, flt: dict[str, Any], definition: PropertyDef) -> np.ndarray:
    present: np.ndarray = ~np.isnan(values)
    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        return present if op == "HAS_PROPERTY" else ~present
    if op in ("IN", "NOT_IN"):
        hits = np.isin(values, [_to_number(definition, v) for v in flt.get("values") or []])
        return hits if op == "IN" else present & ~hits
    value = _to_number(definition, flt.get("value"))
    with np.errstate(invalid="ignore"):
        if op == "BETWEEN":
            return (values >= value) & (values <= _to_number(definition, flt.get("highValue")))
        compare: dict[str, Callable[[np.ndarray], np.ndarray]] = {
            "EQ": lambda v: v == value, "NEQ": lambda v: present & (v != value), "LT": lambda v: v < value,
            "LTE": lambda v: v <= value, "GT": lambda v: v > value, "GTE": lambda v: v >= value,
        }
        return np.asarray(compare[op](values), dtype=bool)


def _text_mask(texts: list[str | None], op: str, flt: dict[str, Any]) -> np.ndarray:
    folded = [None if t is None else t.casefold() for t in texts]
    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        present = np.array([t not in (None, "") for t in folded], dtype=bool)
        return present if op == "HAS_PROPERTY" else ~present
    if op in ("IN", "NOT_IN"):
        wanted = {str(v).casefold() for v in flt.get("values") or []}
        inside = op == "IN"
        return np.array([t is not None and (t in wanted) == inside for t in folded], dtype=bool)
    value = str(flt.get("value", "")).casefold()
    high = str(flt.get("highValue", "")).casefold()
    tests: dict[str, Callable[[str], bool]] = {
        "EQ": lambda t: t == value, "NEQ": lambda t: t != value, "LT": lambda t: t < value,
        "LTE": lambda t: t <= value, "GT": lambda t: t > value, "GTE": lambda t: t >= value,
        "BETWEEN": lambda t: value <= t <= high,
    }
    test = tests[op]
    return np.array([t is not None and test(t) for t in folded], dtype=bool)


def _has_tokens(text: str | None, value: str) -> bool:
    if not text:
        return False
    words = set(_WORD.findall(text.casefold()))
    wanted = re.findall(r"[\w*]+", value.casefold())
    return bool(wanted) and all(
        (fnmatch.filter(words, w) if "*" in w else w in words) for w in wanted
    )


def _sort(store: ObjectStore, rows: np.ndarray, sorts: list[Any]) -> np.ndarray:
    if len(sorts) > 1:
        raise SearchError("Only one sort is supported")
    if not sorts:
        return rows
    spec = sorts[0]
    if isinstance(spec, str):
        name, descending = spec.lstrip("-"), spec.startswith("-")
    else:
        name = spec.get("propertyName")
        descending = str(spec.get("direction", "ASCENDING")).upper() == "DESCENDING"
    definition = _definition(store, name)
    if definition.numeric:
        key = store.numbers(definition.name)[rows]
        missing = np.isnan(key)
        key = np.where(missing, 0.0, key)
    else:
        texts = store.texts(definition.name)
        picked = [texts[r] for r in rows.tolist()]
        missing = np.array([t in (None, "") for t in picked], dtype=bool)
        key = np.unique([(t or "").casefold() for t in picked], return_inverse=True)[1].astype(float)
    if descending:
        key = -key
    return rows[np.lexsort((rows, key, missing))]
