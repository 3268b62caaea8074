"""Input rules in one place (issue 12): what any record must look like before it reaches either store.

Each test here failed on the main of the issue: PostgreSQL stopped on a NUL character or a 65-character id,
a stray quote swallowed the rows after it, cp1252 became replacement characters, repeated keys resolved
silently, impossible values passed, an import of nothing exited 0 and a misspelled scorecard was proposed.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select
from sqlmodel import Session
from typer.testing import CliRunner

from connectors.base import RawRecord
from worker.cli import app
from worker.ingest.csv_import import CsvImport, load_csv_mapping
from worker.ingest.mapping import MappingError, Normaliser, load_mapping
from worker.ingest.records import AccountRecord, Quarantined
from worker.ingest.sync import row_of
from worker.settings import DEFAULT_CONFIG
from worker.store import Account, Deal, Owner, QuarantineRow, session_scope, upsert

HUBSPOT = load_mapping(DEFAULT_CONFIG / "hubspot-mapping.yaml")
EXAMPLE = DEFAULT_CONFIG / "csv-mapping.example.yaml"
HEADER = ["Deal ID", "Company ID", "Company name", "Industry", "Number of employees", "NPS", "Deal stage",
          "Close date", "Amount"]
runner = CliRunner()


def line(deal: str, company: str, **values: str) -> list[str]:
    row = {"Deal ID": deal, "Company ID": company, "Company name": f"Company {company}", "Industry": "Software",
           "Number of employees": "50", "NPS": "30", "Deal stage": "Closed won", "Close date": "2026-02-03",
           "Amount": "100"} | values
    return [row[h] for h in HEADER]


def write(path: Path, rows: list[list[str]], raw_tail: str = "") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
        handle.write(raw_tail)
    return path


def small_mapping(tmp_path: Path) -> Any:
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    document["accounts"] = {"id": "Company ID", "name": "Company name",
                            "attributes": {"industry": {"column": "Industry", "type": "category"},
                                           "employees": {"column": "Number of employees", "type": "number"}},
                            "health": {"nps": {"column": "NPS", "type": "number"}}}
    document["deals"] = {"id": "Deal ID", "account_id": "Company ID", "closed_at": "Close date", "amount": "Amount",
                         "outcome": {"column": "Deal stage", "won": ["Closed won"], "lost": ["Closed lost"]}}
    document.pop("notes")
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return load_csv_mapping(path)


def quarantined(engine: Engine) -> list[QuarantineRow]:
    with Session(engine) as session:
        return list(session.execute(select(QuarantineRow).order_by(QuarantineRow.id)).scalars())


# --- the CRM side: the mapping boundary -------------------------------------------------------------------------

def test_nul_and_control_characters_are_cleaned_before_either_store(engine: Engine) -> None:
    """A company name, value and raw property with NUL and other control characters is stored, cleaned."""
    raw = {"name": "Ac\x00me\x07 GmbH", "industry": "Soft\x00ware", "city": "Ber\x00lin\x1b"}
    account = Normaliser(HUBSPOT).account(RawRecord("accounts", "1", datetime(2026, 1, 1, tzinfo=UTC), raw))
    assert isinstance(account, AccountRecord)
    owner = Normaliser.owner(RawRecord("owners", "7", None, {"firstName": "A\x00nn", "email": "ann@x.io"}))
    with session_scope(engine) as session:
        upsert(session, Account, [row_of("main", account, datetime.now(UTC))])
        upsert(session, Owner, [row_of("main", owner, datetime.now(UTC))])  # type: ignore[arg-type]
    with Session(engine) as session:
        stored = session.get(Account, ("main", "1"))
        person = session.get(Owner, ("main", "7"))
    assert stored is not None and stored.name == "Acme GmbH" and stored.attributes["industry"] == "Software"
    assert stored.raw["city"] == "Berlin" and person is not None and person.name == "Ann"


def test_over_long_crm_id_is_quarantined_not_a_failed_run(engine: Engine) -> None:
    """An id longer than the store's 64 characters is quarantined with the reason; the quarantine row stores."""
    long_id = "9" * 200
    result = Normaliser(HUBSPOT).deal(RawRecord("deals", long_id, None, {"amount": "5\x00"},
                                                {"outcome": "won", "account_id": "1"}))
    assert isinstance(result, Quarantined) and result.field == "id" and "at most 64" in result.reason
    with session_scope(engine) as session:
        session.add(QuarantineRow(connection="main", object_type=result.object_type, record_id=result.record_id,
                                  field=result.field, reason=result.reason, raw=result.raw, at=datetime.now(UTC)))
    assert len(quarantined(engine)) == 1


@pytest.mark.parametrize(("props", "field", "words"), [
    ({"numberofemployees": "-5"}, "numberofemployees", "negative"),
    ({"nps_score": "999"}, "nps_score", "outside -100..100"),
    ({"churn_date": "0001-01-01"}, "churn_date", "before 1900"),
    ({"churn_date": "2099-01-01"}, "churn_date", "after"),
    ({"founded_year": "3024"}, "founded_year", "not a plausible year"),
])
def test_impossible_crm_values_are_quarantined(props: dict[str, str], field: str, words: str) -> None:
    """Negative counts, NPS outside -100..100 and dates outside 1900..next year are refused with the reason."""
    result = Normaliser(HUBSPOT).account(RawRecord("accounts", "1", None, props))
    assert isinstance(result, Quarantined) and result.field == field and words in result.reason


def test_impossible_deal_dates_are_quarantined() -> None:
    """A close date in year 1 or 2099 is refused, naming the CRM property."""
    for value in ("0001-01-01T00:00:00Z", "2099-06-01T00:00:00Z"):
        result = Normaliser(HUBSPOT).deal(RawRecord("deals", "5", None, {"closedate": value},
                                                    {"outcome": "won", "account_id": "1"}))
        assert isinstance(result, Quarantined) and result.field == "closedate"


# --- the CSV side --------------------------------------------------------------------------------------------------

def test_over_long_csv_id_refuses_that_row_only(engine: Engine, tmp_path: Path) -> None:
    """A 65-character id loses one row, with its line and reason, not the whole import on PostgreSQL."""
    deals = write(tmp_path / "deals.csv", [line("D1", "C1"), line("D" * 65, "C2"), line("D3", "C" * 70)])
    report = CsvImport(engine, "main", small_mapping(tmp_path), "r1").run(deals)
    assert report.deals == 1 and report.accounts == 1
    assert [(p.row, p.field) for p in report.refused] == [(3, "Deal ID"), (4, "Company ID")]
    assert all("at most 64" in p.reason for p in report.refused)
    assert len(quarantined(engine)) == 2


def test_stray_quote_refuses_its_row_with_the_line_and_keeps_the_rest(engine: Engine, tmp_path: Path) -> None:
    """A stray quote used to swallow the following rows while the output said 0 refused."""
    text = ('D2,C2,"Beta Corp,Software,50,30,Closed won,2026-02-03,100\r\n'
            "D3,C3,Gamma,Software,50,30,Closed won,2026-02-03,100\r\n"
            'D4,C4,Delta "the" Inc,Software,50,30,Closed lost,2026-02-04,100\r\n'
            "D5,C5,Epsilon,Software,50,30,Closed lost,2026-02-05,100\r\n")
    deals = write(tmp_path / "deals.csv", [line("D1", "C1")], text)
    report = CsvImport(engine, "main", small_mapping(tmp_path), "r1").run(deals)
    assert [p.row for p in report.refused] == [3]
    assert "quote" in report.refused[0].reason and report.deals == 4
    with Session(engine) as session:
        assert session.get(Deal, ("main", "D3")) is not None and session.get(Deal, ("main", "D2")) is None


def test_truncated_file_refuses_the_cut_row(engine: Engine, tmp_path: Path) -> None:
    """A file cut inside a quoted value refuses that last row with its line."""
    deals = write(tmp_path / "deals.csv", [line("D1", "C1")], 'D2,C2,"Beta')
    report = CsvImport(engine, "main", small_mapping(tmp_path), "r1").run(deals)
    assert report.deals == 1 and [(p.file, p.row) for p in report.refused] == [("deals.csv", 3)]


def test_wrong_number_of_fields_is_refused(engine: Engine, tmp_path: Path) -> None:
    """A row with an extra delimiter is refused, naming the line, instead of shifting its values."""
    deals = write(tmp_path / "deals.csv", [line("D1", "C1"), [*line("D2", "C2"), "extra"]])
    report = CsvImport(engine, "main", small_mapping(tmp_path), "r1").run(deals)
    assert report.deals == 1 and report.refused[0].row == 3 and "10 fields" in report.refused[0].reason


def test_repeated_keys_are_reported(engine: Engine, tmp_path: Path) -> None:
    """A repeated deal key is refused, naming the first line; an account repeated with other values is noted."""
    deals = write(tmp_path / "deals.csv", [line("D1", "C1"), line("D1", "C2"),
                                           line("D3", "C1", **{"Number of employees": "900"})])
    report = CsvImport(engine, "main", small_mapping(tmp_path), "r1").run(deals)
    assert [(p.row, p.field) for p in report.refused] == [(3, "Deal ID")]
    assert "already on row 2" in report.refused[0].reason
    assert [(p.row, p.field) for p in report.noted] == [(4, "Number of employees")]
    assert report.deals == 2


def test_repeated_account_in_accounts_file_is_refused(engine: Engine, tmp_path: Path) -> None:
    """In an accounts file the second row of an account is refused, not silently dropped."""
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("Company ID,Company name,Industry,Number of employees,NPS\nC1,A,x,1,1\nC1,B,y,2,2\n",
                        encoding="utf-8")
    report = CsvImport(engine, "main", small_mapping(tmp_path), "r1").run(None, accounts)
    assert report.accounts == 1 and [(p.row, p.field) for p in report.refused] == [(3, "Company ID")]


@pytest.mark.parametrize(("values", "column", "words"), [
    ({"Number of employees": "-3"}, "Number of employees", "negative"),
    ({"NPS": "999"}, "NPS", "outside -100..100"),
    ({"Close date": "0001-01-01"}, "Close date", "before 1900"),
    ({"Close date": "2099-01-01"}, "Close date", "after"),
    ({"Amount": "-10"}, "Amount", "negative"),
])
def test_impossible_csv_values_are_quarantined(engine: Engine, tmp_path: Path, values: dict[str, str],
                                               column: str, words: str) -> None:
    """Impossible values are refused with their column and reason, and kept in quarantine."""
    deals = write(tmp_path / "deals.csv", [line("D1", "C1"), line("D2", "C2", **values)])
    report = CsvImport(engine, "main", small_mapping(tmp_path), "r1").run(deals)
    assert [(p.row, p.field) for p in report.refused] == [(3, column)] and words in report.refused[0].reason
    kept = quarantined(engine)
    assert [(q.record_id, q.field) for q in kept] == [("deals.csv row 3", column)]


def test_control_characters_in_csv_values_are_cleaned(engine: Engine, tmp_path: Path) -> None:
    """NUL and escape characters in a CSV value never reach the store."""
    deals = write(tmp_path / "deals.csv", [line("D1", "C1", **{"Company name": "M\x00ül\x1bler"})])
    CsvImport(engine, "main", small_mapping(tmp_path), "r1").run(deals)
    with Session(engine) as session:
        account = session.get(Account, ("main", "C1"))
    assert account is not None and account.name == "Müller" and "\x00" not in str(account.raw)


def test_html_instead_of_csv_is_refused_naming_the_columns(engine: Engine, tmp_path: Path) -> None:
    """An HTML page saved as the export is refused as a whole, naming the missing columns."""
    page = tmp_path / "deals.csv"
    page.write_text("<!DOCTYPE html>\n<html><body><p>Session expired</p></body></html>\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"deals.csv: columns named in the mapping are not in the header: Deal ID"):
        CsvImport(engine, "main", small_mapping(tmp_path), "r1").run(page)


# --- the command line -----------------------------------------------------------------------------------------------

@pytest.fixture
def icp(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    config = tmp_path / "icp.toml"
    config.write_text(f'database_url = "{store_url}"\n[connections.main]\napprovers = ["ceo@example.com"]\n')
    monkeypatch.delenv("ICP_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return lambda *args: runner.invoke(app, ["--config", str(config), *args])


def test_import_of_nothing_exits_1(icp: Any, tmp_path: Path) -> None:
    """Every row refused: the import says so and exits 1."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(yaml.safe_dump(small_mapping(tmp_path).model_dump(exclude_none=True)), encoding="utf-8")
    deals = write(tmp_path / "deals.csv", [line("D1", "C1", NPS="500"), line("D2", "C2", Amount="lots")])
    result = icp("import", "csv", "--mapping", str(mapping), "--deals", str(deals))
    assert result.exit_code == 1, result.output
    assert "2 row(s) refused" in result.output and "nothing was imported" in result.output


def test_import_of_a_latin1_file_is_a_usage_error(icp: Any, tmp_path: Path) -> None:
    """An undeclared latin-1 file stops with the line and the fix, not a traceback or 'M\ufffdller'."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(yaml.safe_dump(small_mapping(tmp_path).model_dump(exclude_none=True)), encoding="utf-8")
    deals = tmp_path / "deals.csv"
    deals.write_bytes(",".join(HEADER).encode() + b"\nD1,C1,M\xfcller,x,1,1,Closed won,2026-01-01,1\n")
    result = icp("import", "csv", "--mapping", str(mapping), "--deals", str(deals))
    assert result.exit_code == 2 and "line 2 is not valid UTF-8" in result.output and "Traceback" not in result.output


SCORECARD = {
    "name": "hand-written", "kind": "hypothesis",
    "criteria": [{"id": "industry", "attribute": "industry", "dimension": "firmographic",
                  "bins": [{"values": ["COMPUTER_SOFTWARE"], "points": 40, "label": "software"},
                           {"other": True, "points": 0, "label": "other"}]},
                 {"id": "employees", "attribute": "employees", "dimension": "firmographic",
                  "bins": [{"range": [200, None], "points": 40, "label": "200+"},
                           {"other": True, "points": 0, "label": "smaller"}]}],
    "bands": [{"tier": "A", "min": 60}, {"tier": "B", "min": 0}],
}


@pytest.mark.parametrize(("change", "words"), [
    (lambda c: c["criteria"][0].update(attribute="industy"), "'industy' is not an attribute"),
    (lambda c: c["criteria"][0]["bins"].__setitem__(0, {"range": [0, 5], "points": 40, "label": "x"}),
     "range bins on 'industry', which is a category"),
    (lambda c: c.update(dimension_weights={"firmographic": 0.7}), "add up to 0.7"),
    (lambda c: c["criteria"][1].update(attribute="industry", bins=c["criteria"][0]["bins"]),
     "'industry' is already scored by criteria[0]"),
])
def test_scorecard_that_does_not_fit_the_mapping_cannot_be_proposed(icp: Any, tmp_path: Path, change: Any,
                                                                     words: str) -> None:
    """A misspelled attribute, range bins on a category, weights that do not add up, or two criteria on one
    attribute are refused with the file and the place, and nothing is stored."""
    card = yaml.safe_load(yaml.safe_dump(SCORECARD))
    change(card)
    path = tmp_path / "card.yaml"
    path.write_text(yaml.safe_dump(card), encoding="utf-8")
    result = icp("propose", str(path), "--by", "revops")
    assert result.exit_code == 2, result.output
    assert words in result.output and "card.yaml" in result.output
    assert "v1" not in icp("versions").output


def test_scorecard_that_fits_is_proposed(icp: Any, tmp_path: Path) -> None:
    """The same card, spelled right, is proposed."""
    path = tmp_path / "card.yaml"
    path.write_text(yaml.safe_dump(SCORECARD), encoding="utf-8")
    result = icp("propose", str(path), "--by", "revops")
    assert result.exit_code == 0, result.output
