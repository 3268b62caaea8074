"""Compact column-wise record storage and associations.

A column keeps the world's typed numpy array as its base and formats values to HubSpot strings
only when they are read; writes go to a small per-row override map. Numeric views for search are
cached and patched in place on writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import numpy as np

from sandbox.clock import from_ms
from sandbox.hubspot.schema import PropertyRegistry
from sandbox.hubspot.values import parse_instant

__all__ = ["Column", "IdColumn", "Link", "AssociationGraph", "ObjectStore"]

Parse = Callable[[str], float]


def _to_float(value: str | None, parse: Parse) -> float:
    if value is None:
        return np.nan
    try:
        return float(parse(value))
    except (TypeError, ValueError):
        return np.nan


class Column:
    """Values of one property for every row of an object type."""

    def __init__(self, base: np.ndarray | None = None, fmt: Callable[[Any], str] = str) -> None:
        self._values: np.ndarray | None = None if base is None else np.asarray(base)
        self._missing = np.ma.getmaskarray(base) if np.ma.isMaskedArray(base) else None
        self._fmt = fmt
        self._over: dict[int, str | None] = {}
        self._numbers: np.ndarray | None = None

    def get(self, row: int) -> str | None:
        """The string value at `row`, or None."""
        if row in self._over:
            return self._over[row]
        values = self._values
        if values is None or row >= len(values) or (self._missing is not None and self._missing[row]):
            return None
        value = values[row]
        return None if value is None else self._fmt(value)

    def set(self, row: int, value: str | None, parse: Parse) -> None:
        """Store `value` (already normalised) at `row`."""
        self._over[row] = value
        if self._numbers is not None and row < len(self._numbers):
            self._numbers[row] = _to_float(value, parse)

    def numbers(self, n: int, parse: Parse) -> np.ndarray:
        """Float view of the first `n` rows (NaN where missing or not numeric)."""
        if self._numbers is None or len(self._numbers) != n:
            out = np.full(n, np.nan)
            values = self._values
            if values is not None:
                k = min(n, len(values))
                if values.dtype != object:
                    out[:k] = values[:k].astype(float)
                    if self._missing is not None:
                        out[:k][self._missing[:k]] = np.nan
                else:
                    out[:k] = [_to_float(None if v is None else self._fmt(v), parse) for v in values[:k]]
            for row, value in self._over.items():
                if row < n:
                    out[row] = _to_float(value, parse)
            self._numbers = out
        return self._numbers

    def texts(self, n: int) -> list[str | None]:
        """String values of the first `n` rows."""
        values = self._values
        if values is None:
            out: list[str | None] = [None] * n
        elif values.dtype == object and self._missing is None:
            out = values[:n].tolist() + [None] * max(0, n - len(values))
            if self._fmt is not str:
                out = [None if v is None else self._fmt(v) for v in out]
        else:
            out = [None if r in self._over else self.get(r) for r in range(n)]
        for row, value in self._over.items():
            if row < n:
                out[row] = value
        return out


class IdColumn(Column):
    """The read-only hs_object_id column, computed from the row number."""

    def __init__(self, id_base: int) -> None:
        super().__init__()
        self._id_base = id_base

    def get(self, row: int) -> str | None:
        return str(self._id_base + row + 1)

    def numbers(self, n: int, parse: Parse) -> np.ndarray:
        return np.arange(self._id_base + 1, self._id_base + n + 1, dtype=np.int64).astype(float)

    def texts(self, n: int) -> list[str | None]:
        return [str(self._id_base + r + 1) for r in range(n)]


class Link:
    """Associations from rows of one type to rows of another: one base target plus extras."""

    def __init__(self, base: np.ndarray | None = None) -> None:
        self._base = base
        self._extra: dict[int, list[int]] = {}
        self._reverse: tuple[np.ndarray, np.ndarray] | None = None

    def targets(self, row: int) -> list[int]:
        """Target rows of `row`."""
        out: list[int] = []
        if self._base is not None and row < len(self._base) and self._base[row] >= 0:
            out.append(int(self._base[row]))
        out.extend(self._extra.get(row, ()))
        return out

    def sources(self, target: int) -> list[int]:
        """Rows whose targets include `target`, ascending."""
        out: list[int] = []
        if self._base is not None:
            if self._reverse is None:
                order = np.argsort(self._base, kind="stable")
                self._reverse = (order, self._base[order])
            order, keys = self._reverse
            lo, hi = np.searchsorted(keys, target, "left"), np.searchsorted(keys, target, "right")
            out = order[lo:hi].tolist()
        out.extend(row for row, targets in self._extra.items() if target in targets)
        return sorted(set(out))

    def add(self, row: int, target: int) -> None:
        """Associate `row` with `target` (idempotent)."""
        if target not in self.targets(row):
            self._extra.setdefault(row, []).append(target)


class AssociationGraph:
    """Links between object types, readable in both directions."""

    def __init__(self) -> None:
        self._links: dict[tuple[str, str], Link] = {}

    def add_link(self, from_type: str, to_type: str, link: Link) -> None:
        """Register `link` from `from_type` rows to `to_type` rows."""
        self._links[(from_type, to_type)] = link

    def knows(self, from_type: str, to_type: str) -> bool:
        """Whether the two types can be associated."""
        return (from_type, to_type) in self._links or (to_type, from_type) in self._links

    def targets(self, from_type: str, to_type: str, row: int) -> list[int]:
        """Rows of `to_type` associated with `row` of `from_type`."""
        if (from_type, to_type) in self._links:
            return self._links[(from_type, to_type)].targets(row)
        if (to_type, from_type) in self._links:
            return self._links[(to_type, from_type)].sources(row)
        return []

    def connect(self, from_type: str, from_row: int, to_type: str, to_row: int) -> None:
        """Associate two records."""
        if (to_type, from_type) in self._links and (from_type, to_type) not in self._links:
            self._links[(to_type, from_type)].add(to_row, from_row)
        else:
            self._links.setdefault((from_type, to_type), Link()).add(from_row, to_row)


class ObjectStore:
    """Records of one object type. Record ids are `id_base + row + 1` and ascend with the row."""

    def __init__(self, object_type: str, id_base: int, created_property: str, size: int,
                 columns: Mapping[str, Column], registry: PropertyRegistry) -> None:
        self.object_type = object_type
        self.registry = registry
        self.id_base = id_base
        self.created_property = created_property
        self._size = size
        self._columns: dict[str, Column] = dict(columns)
        self._columns["hs_object_id"] = IdColumn(id_base)
        self._parser_for = registry.number_parser

    def __len__(self) -> int:
        return self._size

    def __contains__(self, record_id: object) -> bool:
        return self.row_of(record_id) is not None

    def id_of(self, row: int) -> str:
        """Record id of `row`."""
        return str(self.id_base + row + 1)

    def row_of(self, record_id: object) -> int | None:
        """Row of a record id (str or int), or None if there is no such record."""
        try:
            row = int(str(record_id)) - self.id_base - 1
        except ValueError:
            return None
        return row if 0 <= row < self._size else None

    def ids(self) -> list[str]:
        """All record ids in ascending order."""
        return [self.id_of(r) for r in range(self._size)]

    def read(self, row: int, name: str) -> str | None:
        """String value of property `name` at `row`."""
        column = self._columns.get(name)
        return None if column is None else column.get(row)

    def write(self, row: int, values: Mapping[str, str | None]) -> bool:
        """Store already-normalised values; True if any of them changed."""
        changed = False
        for name, value in values.items():
            if self.read(row, name) != value:
                self._columns.setdefault(name, Column()).set(row, value, self._parser_for(name))
                changed = True
        return changed

    def append(self) -> int:
        """Add an empty record and return its row."""
        self._size += 1
        return self._size - 1

    def numbers(self, name: str) -> np.ndarray:
        """Float view of a property over all rows (NaN where missing)."""
        column = self._columns.get(name) or Column()
        return column.numbers(self._size, self._parser_for(name))

    def texts(self, name: str) -> list[str | None]:
        """String values of a property over all rows."""
        column = self._columns.get(name) or Column()
        return column.texts(self._size)

    def get(self, record_id: object) -> dict[str, str | None] | None:
        """Every defined property of a record (None where empty), or None if there is no such record."""
        row = self.row_of(record_id)
        return None if row is None else self.snapshot(row, self.registry.properties)

    def value(self, record_id: object, name: str) -> str | None:
        """One property of a record; KeyError if there is no such record."""
        row = self.row_of(record_id)
        if row is None:
            raise KeyError(record_id)
        return self.read(row, name)

    def modified_at(self, record_id: object) -> datetime:
        """hs_lastmodifieddate of a record as an aware datetime."""
        return from_ms(parse_instant(self.value(record_id, "hs_lastmodifieddate")))

    def created_at(self, record_id: object) -> datetime:
        """Creation time of a record as an aware datetime."""
        return from_ms(parse_instant(self.value(record_id, self.created_property)))

    def snapshot(self, row: int, names: Iterable[str]) -> dict[str, str | None]:
        """Values of `names` at `row`."""
        return {name: self.read(row, name) for name in names}
