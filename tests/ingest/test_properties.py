"""Property-based tests (Hypothesis): no input crashes the mapping, the CSV import or the scorecard loader,
and every refusal names its file, row and field.

Inputs are drawn to include malformed, truncated, HTML and control-character text.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from connectors.base import RawRecord
from worker.ingest import csv_read
from worker.ingest.csv_import import CsvImport, load_csv_mapping
from worker.ingest.mapping import BadValue, MappingError, Normaliser, load_mapping, parse_value
from worker.ingest.records import AccountRecord, DealRecord, Quarantined
from worker.ingest.rules import admit
from worker.ingest.sync import row_of
from worker.score.scorecard import ScorecardError, load_scorecard
from worker.settings import DEFAULT_CONFIG
from worker.store import Account, Deal, QuarantineRow, session_scope, upsert

HUBSPOT = load_mapping(DEFAULT_CONFIG / "hubspot-mapping.yaml")
EXAMPLE = DEFAULT_CONFIG / "csv-mapping.example.yaml"
NASTY = ["", " ", "\x00", "\x00\x01\x1b\x7f", "<html><body>502 Bad Gateway</body></html>", '"', '""', "'", ",", ";",
         "\r\n", "\n\n", "\ufeff", "\ud800", "NaN", "inf", "-0", "1e309", "99999999999999999999", "-5", "0001-01-01",
         "2099-12-31", "13/45/2026", "1700000000000", "true", "Müller", "M\ufffdller", "x" * 300, "\u202e"]
text = st.one_of(st.sampled_from(NASTY), st.text(max_size=40), st.text(st.characters(max_codepoint=0x20), max_size=8))
KINDS = ["number", "integer", "category", "boolean", "text", "date", "datetime"]


@given(value=st.one_of(text, st.integers(), st.floats(), st.booleans(), st.none()), kind=st.sampled_from(KINDS))
def test_parse_value_returns_or_refuses(value: Any, kind: str) -> None:
    """Any value parses to its kind or raises BadValue; nothing else escapes."""
    try:
        parse_value(value, kind)  # type: ignore[arg-type]
    except BadValue as exc:
        assert str(exc)


PROPS = sorted(set(HUBSPOT.account_properties()) | set(HUBSPOT.deal_properties()))
properties = st.dictionaries(st.sampled_from(PROPS), text, max_size=12)
ids = st.one_of(st.sampled_from(["1", "x" * 65, "a\x00b", "\ud800", ""]), st.text(max_size=80))


@given(record_id=ids, props=properties, outcome=st.sampled_from(["won", "lost", "open", None, "weird"]))
def test_normaliser_admits_or_quarantines_with_a_mapped_field(record_id: str, props: dict[str, Any],
                                                              outcome: str | None) -> None:
    """Any CRM record becomes a record that passes the input rules, or a quarantine entry naming a CRM field."""
    normaliser = Normaliser(HUBSPOT)
    for result in (normaliser.account(RawRecord("accounts", record_id, None, props)),
                   normaliser.deal(RawRecord("deals", record_id, None, props,
                                             {"outcome": outcome, "account_id": "1"}))):
        if isinstance(result, Quarantined):
            assert result.field in {*PROPS, "id", "outcome"} and result.reason
            assert len(result.record_id) <= 128 and "\x00" not in repr(result.raw)
        else:
            admit(result)
            assert "\x00" not in repr(result)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record_id=ids, props=properties)
def test_whatever_the_normaliser_returns_stores(engine: Engine, record_id: str, props: dict[str, Any]) -> None:
    """Records and quarantine entries from any input store on SQLite and PostgreSQL alike."""
    normaliser = Normaliser(HUBSPOT)
    now = datetime.now(UTC)
    account = normaliser.account(RawRecord("accounts", record_id, None, props))
    deal = normaliser.deal(RawRecord("deals", record_id, None, props, {"outcome": "won", "account_id": record_id}))
    with session_scope(engine) as session:
        for result, model in ((account, Account), (deal, Deal)):
            if isinstance(result, (AccountRecord, DealRecord)):
                upsert(session, model, [row_of("main", result, now)])
            else:
                assert isinstance(result, Quarantined)
                session.add(QuarantineRow(connection="main", object_type=result.object_type,
                                          record_id=result.record_id, field=result.field, reason=result.reason,
                                          raw=result.raw, at=now))


HEADER = "Deal ID,Company ID,Company name,Industry,Number of employees,Deal stage,Close date,Amount\r\n"
GOOD = "D1,C1,Acme,Software,10,Closed won,2026-01-02,5\r\n"
lines = st.lists(st.one_of(st.just(GOOD), st.sampled_from(NASTY), text.map(lambda t: t + "\r\n"),
                           st.lists(text, min_size=1, max_size=10).map(lambda f: ",".join(f) + "\n")), max_size=8)
chunk = st.one_of(st.builds(lambda rows, cut: (HEADER + "".join(rows))[:cut], lines, st.integers(0, 2000)),
                  st.sampled_from(["", "<!DOCTYPE html><html><body><table><tr><td>1</td></tr></table></body></html>",
                                   HEADER, '"' + HEADER]))


@given(body=chunk, encoding=st.sampled_from(["utf-8", "cp1252", "utf-16", "latin-1"]))
def test_strict_reader_yields_rows_or_lines_it_refuses(body: str, encoding: str) -> None:
    """The reader never crashes: it yields rows and refused lines in order, or refuses the whole file."""
    data = body.encode(encoding, errors="replace")
    try:
        items = list(csv_read.rows(csv_read.decode(data, "f.csv"), "f.csv"))
    except csv_read.CsvFileError as exc:
        assert str(exc).startswith("f.csv: ")
        return
    numbers = [i.line if isinstance(i, csv_read.BadLine) else i[0] for i in items]
    assert numbers == sorted(numbers) and all(n >= 2 for n in numbers)
    assert all("\x00" not in repr(i) for i in items)


@pytest.fixture(scope="module")
def mapping() -> Any:
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    document["accounts"] = {"id": "Company ID", "name": "Company name",
                            "attributes": {"industry": {"column": "Industry", "type": "category"},
                                           "employees": {"column": "Number of employees", "type": "number"}}}
    document["deals"] = {"id": "Deal ID", "account_id": "Company ID", "closed_at": "Close date", "amount": "Amount",
                         "outcome": {"column": "Deal stage", "won": ["Closed won"], "lost": ["Closed lost"]}}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.yaml"
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
        return load_csv_mapping(path)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=chunk, raw=st.booleans())
def test_csv_import_never_crashes_and_names_every_refusal(engine: Engine, tmp_path: Path, mapping: Any, body: str,
                                                         raw: bool) -> None:
    """Any file imports, refuses rows naming file, line and field, or is refused as a whole naming the file."""
    path = tmp_path / "deals.csv"
    if raw:
        path.write_bytes(body.encode("utf-8", errors="surrogatepass"))
    else:
        path.write_text(body, encoding="utf-8", errors="replace")
    try:
        report = CsvImport(engine, "main", mapping, "r1").run(path)
    except MappingError as exc:
        assert "deals.csv" in str(exc)
        return
    for problem in report.problems:
        assert problem.file == "deals.csv" and problem.row >= 2 and problem.field and problem.reason


yaml_text = st.one_of(
    text, st.sampled_from(["accounts: [", "crm: hubspot\naccounts: {attributes: {x: {field: 1, type: nope}}}",
                           "{{{{", "- - -", "<html>", "crm: csv\naccounts: 5", "accounts:\n  id: 5"]),
    st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), text),
                 lambda inner: st.one_of(st.lists(inner, max_size=3),
                                         st.dictionaries(st.sampled_from(
                                             ["crm", "accounts", "deals", "id", "attributes", "field", "column",
                                              "type", "values", "known", "delimiter", "encoding", "outcome"]),
                                             inner, max_size=4)), max_leaves=12).map(
        lambda d: yaml.safe_dump(d)))


@settings(deadline=None)
@given(document=yaml_text)
def test_mapping_loaders_refuse_with_the_file_name(document: str) -> None:
    """Any mapping text loads, or is refused with a MappingError that starts with the file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mapping.yaml"
        path.write_text(document, encoding="utf-8", errors="surrogatepass")
        for load in (load_mapping, load_csv_mapping):
            try:
                load(path)
            except MappingError as exc:
                assert str(exc).startswith(str(path))


STARTER = yaml.safe_load((DEFAULT_CONFIG / "starter-scorecard.yaml").read_text(encoding="utf-8"))


def _mutate(document: Any, path: list[Any], value: Any) -> Any:
    """``document`` with the value at ``path`` replaced (list steps are indices, mapping steps are keys)."""
    target = document
    for key in path[:-1]:
        if isinstance(target, list) and isinstance(key, int) and target:
            target = target[key % len(target)]
        elif isinstance(target, dict) and isinstance(key, str) and isinstance(target.get(key), (dict, list)):
            target = target[key]
        else:
            return document
    key = path[-1]
    if isinstance(target, list) and isinstance(key, int) and target:
        target[key % len(target)] = value
    elif isinstance(target, dict) and isinstance(key, str):
        target[key] = value
    return document


scorecard_docs = st.builds(
    lambda path, value: yaml.safe_dump(_mutate(yaml.safe_load(yaml.safe_dump(STARTER)), path, value)),
    st.lists(st.one_of(st.sampled_from(["criteria", "bands", "bins", "range", "values", "points", "attribute",
                                        "min", "tier", "exclusions", "when", "effect", "dimension_weights"]),
                       st.integers(0, 5)), min_size=1, max_size=5),
    st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(), text,
              st.lists(st.one_of(st.none(), st.integers(), st.floats(), text), max_size=3),
              st.dictionaries(st.sampled_from(["range", "values", "points", "label", "other"]),
                              st.one_of(st.none(), st.integers(), text), max_size=3)))


@settings(deadline=None)
@given(document=st.one_of(scorecard_docs, yaml_text, st.builds(lambda d, cut: d[:cut], scorecard_docs,
                                                               st.integers(0, 400))),
       encoding=st.sampled_from(["utf-8", "utf-8", "cp1252", "utf-16"]))
def test_scorecard_loader_refuses_with_the_file_and_the_place(document: str, encoding: str) -> None:
    """Any scorecard text (truncated, re-encoded, HTML, control characters) loads, or is refused with a
    ScorecardError naming the file and each bad place."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "card.yaml"
        path.write_bytes(document.encode(encoding, errors="replace" if encoding == "cp1252" else "surrogatepass"))
        try:
            load_scorecard(path)
        except ScorecardError as exc:
            assert exc.source == str(path) and exc.problems and all(p for p in exc.problems)
