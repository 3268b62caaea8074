"""A scorecard checked against the attributes the evidence has, before it can be proposed.

A hand-written scorecard that names an attribute nobody maps (``industy``), puts range bins on a
category, scores one attribute twice or gives dimension weights that do not add up to 100% would
score every account wrongly, silently. :func:`scorecard_problems` lists each such problem with its
place in the document; nothing here reads files or the store.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from worker.ingest.mapping import FieldMapping, FieldType
from worker.score.scorecard import Scorecard

AttributeKind = Literal["numeric", "categorical", "date"]
_KINDS: dict[FieldType, AttributeKind] = {"number": "numeric", "integer": "numeric", "category": "categorical",
                                          "boolean": "categorical", "text": "categorical", "date": "date",
                                          "datetime": "date"}
WEIGHT_TOLERANCE = 0.01


def mapped_kinds(mapping: FieldMapping) -> dict[str, AttributeKind]:
    """The kind of each account attribute a CRM mapping declares."""
    return {name: _KINDS[ref.type] for name, ref in mapping.accounts.attributes.items()}


def stored_kinds(values: Iterable[Mapping[str, Any]]) -> dict[str, AttributeKind]:
    """The kind of each attribute in stored attribute dictionaries (numbers numeric, the rest categorical)."""
    kinds: dict[str, AttributeKind] = {}
    for attributes in values:
        for name, value in attributes.items():
            if value is None or name in kinds and kinds[name] == "categorical":
                continue
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            kinds[name] = "numeric" if numeric and kinds.get(name, "numeric") == "numeric" else "categorical"
    return kinds


def _unknown(attribute: str, known: Mapping[str, AttributeKind], where: str) -> str:
    close = difflib.get_close_matches(attribute, list(known), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    names = ", ".join(sorted(known)) or "none"
    return f"{where}: '{attribute}' is not an attribute of the mapping or the evidence{hint}; known: {names}"


def scorecard_problems(card: Scorecard, known: Mapping[str, AttributeKind]) -> list[str]:
    """Every way ``card`` does not fit attributes of the ``known`` kinds; empty when it fits."""
    problems: list[str] = []
    first: dict[str, int] = {}
    for i, criterion in enumerate(card.criteria):
        where = f"criteria[{i}] ({criterion.id})"
        kind = known.get(criterion.attribute)
        if criterion.attribute in first:
            problems.append(f"{where}.attribute: '{criterion.attribute}' is already scored by "
                            f"criteria[{first[criterion.attribute]}]; one criterion per attribute")
        first.setdefault(criterion.attribute, i)
        if kind is None:
            problems.append(_unknown(criterion.attribute, known, f"{where}.attribute"))
        elif kind == "date":
            problems.append(f"{where}.attribute: '{criterion.attribute}' is a date; dates are not scored")
        elif kind == "categorical" and criterion.kind == "numeric":
            problems.append(f"{where}.bins: range bins on '{criterion.attribute}', which is a category; "
                            f"use 'values' bins")
    for i, exclusion in enumerate(card.exclusions):
        where = f"exclusions[{i}] ({exclusion.id}).when"
        kind = known.get(exclusion.when.attribute)
        if kind is None:
            problems.append(_unknown(exclusion.when.attribute, known, f"{where}.attribute"))
        elif kind != "numeric" and exclusion.when.range is not None:
            problems.append(f"{where}.range: '{exclusion.when.attribute}' is a {kind}; use 'values'")
    return problems + _weight_problems(card)


def _weight_problems(card: Scorecard) -> list[str]:
    weights = card.dimension_weights
    if not weights:
        return []
    problems: list[str] = []
    used = {c.dimension for c in card.criteria}
    for name, weight in weights.items():
        if name not in used:
            problems.append(f"dimension_weights.{name}: no criterion is in the '{name}' dimension "
                            f"(dimensions used: {', '.join(sorted(used))})")
        if not math.isfinite(weight) or weight < 0:
            problems.append(f"dimension_weights.{name}: {weight} is not a share between 0 and 1")
    total = sum(w for w in weights.values() if math.isfinite(w))
    if abs(total - 1) > WEIGHT_TOLERANCE:
        problems.append(f"dimension_weights: the shares add up to {total:g}, not 1 (100%)")
    return problems
