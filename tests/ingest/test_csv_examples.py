"""The shipped mapping files and the README's examples work exactly as shipped (issue 9, item 8).

``type: date`` on a deal's dates used to reach the store as a naive datetime and stop the import with a
SQLAlchemy traceback; these tests import through every documented form on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, select
from sqlmodel import Session

from connectors.base import RawRecord
from worker.ingest.csv_import import CsvImport, CsvMapping, load_csv_mapping
from worker.ingest.mapping import FieldMapping, MappingError, Normaliser, load_mapping
from worker.ingest.records import DealRecord
from worker.ingest.sync import row_of
from worker.settings import DEFAULT_CONFIG
from worker.store import Account, Deal, EvidenceNoteRow, session_scope, upsert

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = DEFAULT_CONFIG / "csv-mapping.example.yaml"


def write_csv(path: Path, rows: list[dict[str, str]], delimiter: str = ",", encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def example_rows() -> list[dict[str, str]]:
    """A flat export with every column the shipped CSV example names, dates in its date_format and ISO."""
    base = {"Company ID": "C1", "Company name": "Acme", "Company owner": "o1", "Industry": "Software",
            "Number of employees": "120", "Annual revenue": "1000000", "Country": "DE", "Uses a data warehouse": "yes",
            "Customer status": "Renewed", "Churn date": "", "NPS": "40", "Support tickets (90 days)": "3",
            "Gross margin %": "60", "Days to first value": "30", "Delivery fit": "OK", "Deal ID": "D1",
            "Deal stage": "Closed won", "Create date": "01/02/2026", "Close date": "03/04/2026", "Amount": "5000",
            "Closed lost reason": "", "Competitor": "", "Lead source": "Referral"}
    lost = base | {"Company ID": "C2", "Company name": "Beta", "Customer status": "Cancelled",
                   "Churn date": "2026-05-06", "Delivery fit": "Poor", "Deal ID": "D2", "Deal stage": "Closed lost",
                   "Close date": "2026-03-05", "Closed lost reason": "Price", "Competitor": "X"}
    return [base, lost]


def test_every_shipped_mapping_loads() -> None:
    """Each mapping file in config/ validates as the kind it is."""
    files = sorted(DEFAULT_CONFIG.glob("*mapping*.yaml"))
    assert len(files) >= 3
    for path in files:
        if "csv" in path.name:
            assert isinstance(load_csv_mapping(path), CsvMapping)
        else:
            assert isinstance(load_mapping(path), FieldMapping)


def test_shipped_csv_example_imports_its_date_columns(engine: Engine, tmp_path: Path) -> None:
    """The shipped example, as shipped, imports a flat file with date-typed columns into either store."""
    deals = write_csv(tmp_path / "deals.csv", example_rows())
    notes = write_csv(tmp_path / "notes.csv", [{"Note": "Loved the API", "Company ID": "C1", "Deal ID": "D1",
                                                 "Author": "ann", "Date": "03/05/2026", "Type": "win"}])
    report = CsvImport(engine, "main", load_csv_mapping(EXAMPLE), "r1").run(deals, None, notes)
    assert (report.accounts, report.deals, report.notes, report.problems) == (2, 2, 1, [])
    with Session(engine) as session:
        won = session.get(Deal, ("main", "D1"))
        account = session.get(Account, ("main", "C2"))
        note = session.execute(select(EvidenceNoteRow)).scalar_one()
    assert won is not None and won.closed_at == datetime(2026, 3, 4, tzinfo=UTC)
    assert won.created_at == datetime(2026, 1, 2, tzinfo=UTC)
    assert note.created_at == datetime(2026, 3, 5, tzinfo=UTC)
    assert account is not None and account.health["churn_date"] == "2026-05-06"
    assert account.health["retention_status"] == "churned" and account.attributes["uses_data_warehouse"] is True


def readme_block(title: str) -> str:
    """The first YAML block after a README heading."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(title):]
    match = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def test_readme_csv_example_imports(engine: Engine, tmp_path: Path) -> None:
    """The README's CSV mapping, copied as it stands, imports accounts, deals and notes."""
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(readme_block("### Importing evidence from CSV"), encoding="utf-8")
    columns = load_csv_mapping(mapping)
    accounts = write_csv(tmp_path / "accounts.csv", [
        {"Company ID": "C1", "Industry": "Software", "Number of employees": "50", "Customer status": "Renewed"}])
    deals = write_csv(tmp_path / "deals.csv", [
        {"Deal ID": "D1", "Company ID": "C1", "Deal stage": "Closed won", "Close date": "2026-02-03",
         "Amount": "10", "Closed lost reason": ""}])
    notes = write_csv(tmp_path / "notes.csv", [{"Note": "Great fit", "Company ID": "C1"}])
    report = CsvImport(engine, "main", columns, "r1").run(deals, accounts, notes)
    assert (report.accounts, report.deals, report.notes, report.problems) == (1, 1, 1, [])
    with Session(engine) as session:
        deal = session.get(Deal, ("main", "D1"))
    assert deal is not None and deal.closed_at == datetime(2026, 2, 3, tzinfo=UTC)


def test_readme_category_translation_block_is_a_valid_field() -> None:
    """The README's value-translation line is a valid mapping field."""
    block = yaml.safe_load(readme_block("### Field mapping"))
    document = yaml.safe_load((DEFAULT_CONFIG / "salesforce-mapping.yaml").read_text(encoding="utf-8"))
    document["accounts"]["attributes"].update(block)
    FieldMapping.model_validate(document)


@pytest.mark.parametrize("kind", ["date", "datetime"])
def test_crm_mapping_date_typed_deal_dates_reach_the_store(engine: Engine, kind: str) -> None:
    """A CRM mapping that types a deal's dates as ``date`` stores them as aware UTC times."""
    document = yaml.safe_load((DEFAULT_CONFIG / "hubspot-mapping.yaml").read_text(encoding="utf-8"))
    document["deals"]["closed_at"] = {"field": "closedate", "type": kind}
    document["deals"]["created_at"] = {"field": "createdate", "type": kind}
    normaliser = Normaliser(FieldMapping.model_validate(document))
    deal = normaliser.deal(RawRecord("deals", "9", None, {"closedate": "2026-03-04", "createdate": "2026-01-02"},
                                     {"outcome": "won", "account_id": "1"}))
    assert isinstance(deal, DealRecord) and deal.closed_at == datetime(2026, 3, 4, tzinfo=UTC)
    with session_scope(engine) as session:
        upsert(session, Deal, [row_of("main", deal, datetime.now(UTC))])
    with Session(engine) as session:
        stored = session.get(Deal, ("main", "9"))
    assert stored is not None and stored.closed_at == datetime(2026, 3, 4, tzinfo=UTC)


def mapping_with(tmp_path: Path, **top: str) -> CsvMapping:
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")) | top
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return load_csv_mapping(path)


@pytest.mark.parametrize(("declared", "delimiter"), [(";", ";"), ("tab", "\t"), ("|", "|")])
def test_delimiter(engine: Engine, tmp_path: Path, declared: str, delimiter: str) -> None:
    """``delimiter`` reads semicolon, tab and pipe separated exports."""
    deals = write_csv(tmp_path / "deals.csv", example_rows(), delimiter=delimiter)
    report = CsvImport(engine, "main", mapping_with(tmp_path, delimiter=declared), "r1").run(deals)
    assert (report.accounts, report.deals, report.problems) == (2, 2, [])


def test_bad_delimiter_is_refused(tmp_path: Path) -> None:
    """A delimiter that is not one usable character is refused, naming the key."""
    with pytest.raises(MappingError, match="delimiter"):
        mapping_with(tmp_path, delimiter=";;")


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "utf-16"])
def test_declared_encoding(engine: Engine, tmp_path: Path, encoding: str) -> None:
    """``encoding`` reads a cp1252, latin-1 or UTF-16 export; names keep their accents."""
    rows = example_rows()
    rows[0]["Company name"] = "Müller Straße"
    deals = write_csv(tmp_path / "deals.csv", rows, encoding=encoding)
    report = CsvImport(engine, "main", mapping_with(tmp_path, encoding=encoding), "r1").run(deals)
    assert report.problems == [] and report.deals == 2
    with Session(engine) as session:
        account = session.get(Account, ("main", "C1"))
    assert account is not None and account.name == "Müller Straße"


def test_undeclared_legacy_encoding_is_an_error(engine: Engine, tmp_path: Path) -> None:
    """A cp1252 file read as UTF-8 is refused with the line, never stored as 'M\ufffdller'."""
    rows = example_rows()
    rows[1]["Company name"] = "Müller"
    deals = write_csv(tmp_path / "deals.csv", rows, encoding="cp1252")
    with pytest.raises(MappingError, match=r"deals.csv: line 3 is not valid UTF-8 .*encoding: cp1252"):
        CsvImport(engine, "main", load_csv_mapping(EXAMPLE), "r1").run(deals)
    with Session(engine) as session:
        assert session.execute(select(Account)).first() is None


def test_wrong_declared_encoding_is_an_error(engine: Engine, tmp_path: Path) -> None:
    """A UTF-8 file declared latin-1 would read 'MÃ¼ller'; it is refused instead."""
    rows = example_rows()
    rows[0]["Company name"] = "Müller"
    deals = write_csv(tmp_path / "deals.csv", rows)
    with pytest.raises(MappingError, match="the file is UTF-8"):
        CsvImport(engine, "main", mapping_with(tmp_path, encoding="latin-1"), "r1").run(deals)


def test_unknown_encoding_is_refused(tmp_path: Path) -> None:
    """An encoding Python does not know is a mapping error naming the key."""
    with pytest.raises(MappingError, match="encoding"):
        mapping_with(tmp_path, encoding="klingon-8")
