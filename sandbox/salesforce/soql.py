"""The subset of SOQL the connector emits: one object, AND-ed comparisons, ORDER BY, LIMIT.

::

    SELECT f1, f2 FROM Object
    [WHERE f op literal [AND f IN (literal, ...)] ...]
    [ORDER BY f [ASC|DESC], ...] [LIMIT n]

Literals are quoted strings (backslash escapes, as ``format_soql`` writes them), numbers,
true / false / null, dates and datetimes (``Z`` or ``±hh:mm``). Anything else is a
``MALFORMED_QUERY``; an unknown or hidden field is an ``INVALID_FIELD``, as in Salesforce.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sandbox.salesforce.org import FieldDef, SObjectTable, parse_datetime

__all__ = ["SoqlError", "Query", "parse", "run"]

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>'(?:\\.|[^'\\])*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op>>=|<=|!=|<>|=|<|>)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""", re.VERBOSE)
_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<>": lambda a, b: a != b,
    "<": lambda a, b: a is not None and a < b, "<=": lambda a, b: a is not None and a <= b,
    ">": lambda a, b: a is not None and a > b, ">=": lambda a, b: a is not None and a >= b}


class SoqlError(ValueError):
    """A query Salesforce would refuse, with its error code."""

    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class Condition:
    """``field op value`` or ``field IN (values)``."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class Query:
    """A parsed query."""

    fields: tuple[str, ...]
    sobject: str
    where: tuple[Condition, ...] = ()
    order: tuple[tuple[str, bool], ...] = ()
    limit: int | None = None


def _tokens(text: str) -> list[tuple[str, str]]:
    out, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise SoqlError("MALFORMED_QUERY", f"unexpected character at {position}: {text[position:position + 20]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        position = match.end()
    return out


def _literal(kind: str, text: str) -> Any:
    if kind == "string":
        return re.sub(r"\\(.)", lambda m: _UNESCAPE.get(m.group(1), m.group(1)), text[1:-1])
    if kind == "datetime":
        return ("datetime", parse_datetime(text))
    if kind == "date":
        return text
    if kind == "number":
        return float(text) if "." in text else int(text)
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    raise SoqlError("MALFORMED_QUERY", f"unexpected token {text!r} where a value was expected")


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens, self.i = _tokens(text), 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.i += 1
        return token

    def keyword(self, *words: str) -> bool:
        kind, text = self.peek()
        if kind == "word" and text.upper() == words[0]:
            for word in words:
                if self.take()[1].upper() != word:
                    raise SoqlError("MALFORMED_QUERY", f"expected {' '.join(words)}")
            return True
        return False

    def expect(self, kind: str, text: str | None = None) -> str:
        got_kind, got = self.take()
        if got_kind != kind or (text is not None and got != text):
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: {got or 'end of query'!r}")
        return got

    def names(self) -> list[str]:
        names = [self.expect("word")]
        while self.peek() == ("punct", ","):
            self.take()
            names.append(self.expect("word"))
        return names

    def condition(self) -> Condition:
        name = self.expect("word")
        if self.keyword("IN"):
            self.expect("punct", "(")
            values = [_literal(*self.take())]
            while self.peek() == ("punct", ","):
                self.take()
                values.append(_literal(*self.take()))
            self.expect("punct", ")")
            return Condition(name, "IN", tuple(values))
        op = self.expect("op")
        return Condition(name, op, _literal(*self.take()))

    def query(self) -> Query:
        if not self.keyword("SELECT"):
            raise SoqlError("MALFORMED_QUERY", "a query starts with SELECT")
        fields = self.names()
        if not self.keyword("FROM"):
            raise SoqlError("MALFORMED_QUERY", "expected FROM")
        sobject = self.expect("word")
        where: list[Condition] = []
        if self.keyword("WHERE"):
            where.append(self.condition())
            while self.keyword("AND"):
                where.append(self.condition())
        order: list[tuple[str, bool]] = []
        if self.keyword("ORDER", "BY"):
            while True:
                name = self.expect("word")
                descending = self.keyword("DESC")
                if not descending:
                    self.keyword("ASC")
                order.append((name, descending))
                if self.peek() != ("punct", ","):
                    break
                self.take()
        limit = int(self.expect("number")) if self.keyword("LIMIT") else None
        if self.peek()[0] != "end":
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: {self.peek()[1]!r}")
        return Query(tuple(fields), sobject, tuple(where), tuple(order), limit)


def parse(text: str) -> Query:
    """Parse a query; :class:`SoqlError` when it is outside the supported subset."""
    return _Parser(text).query()


def _field(table: SObjectTable, name: str) -> FieldDef:
    definition = table.field_named(name)
    if definition is None:
        raise SoqlError("INVALID_FIELD", f"No such column '{name}' on entity '{table.name}'. If you are attempting "
                                         "to use a custom field, be sure to append the '__c' after the custom field "
                                         "name.")
    return definition


def _comparable(definition: FieldDef, value: Any) -> Any:
    if isinstance(value, tuple) and value and value[0] == "datetime":
        if definition.type != "datetime":
            raise SoqlError("INVALID_FIELD", f"value of filter criterion for field '{definition.name}' must be of "
                                             f"type {definition.type}")
        return value[1]
    return value


def _test(definition: FieldDef, condition: Condition) -> Callable[[Any], bool]:
    if condition.op == "IN":
        wanted = {_comparable(definition, v) for v in condition.value}
        return lambda actual: actual in wanted
    value, compare = _comparable(definition, condition.value), _OPS[condition.op]
    return lambda actual: compare(actual, value)


def _sort_key(name: str) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    return lambda row: (row.get(name) is None, row.get(name) if row.get(name) is not None else 0)


def run(table: SObjectTable, query: Query, include_deleted: bool = False) -> list[tuple[Any, dict[str, Any]]]:
    """The matching records as (Id, row) pairs, each row projected to the selected fields in their JSON form.

    The Id comes with every row, selected or not: Salesforce gives each query record its ``attributes.url``.
    """
    selected = [_field(table, f) for f in query.fields]
    tests = [(_field(table, c.field).name, _test(_field(table, c.field), c)) for c in query.where]
    rows: Iterable[dict[str, Any]] = (r for r in table.records.values()
                                      if (include_deleted or not r.get("IsDeleted"))
                                      and all(test(r.get(name)) for name, test in tests))
    found = list(rows)
    for name, descending in reversed(query.order):
        found.sort(key=_sort_key(_field(table, name).name), reverse=descending)
    if query.limit is not None:
        found = found[: query.limit]
    return [(r.get("Id"), {f.name: f.render(r.get(f.name)) for f in selected}) for r in found]
