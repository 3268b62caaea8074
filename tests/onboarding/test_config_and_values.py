"""Config paths are taken from the config file's folder; each CRM has a starter scorecard in its own values; the
mapping translates an org's picklist values into the ones a scorecard uses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from connectors.base import RawRecord
from sandbox.salesforce.loader import INDUSTRIES
from worker.ingest.mapping import AccountRecord, MappingError, Normaliser, load_mapping
from worker.operate.doctor import unmatched_values
from worker.score.scorecard import load_scorecard
from worker.settings import DEFAULT_CONFIG, STARTER_SCORECARDS, ConfigError, load_settings

HUBSPOT_INDUSTRIES = ("COMPUTER_SOFTWARE", "FINANCIAL_SERVICES", "INSURANCE", "TELECOMMUNICATIONS",
                      "MARKETING_AND_ADVERTISING", "RETAIL")


def test_the_example_config_works_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Copied elsewhere on its own, the shipped example loads: it names no files it does not ship beside it."""
    monkeypatch.delenv("ICP_DATABASE_URL", raising=False)
    copy = tmp_path / "etc" / "icp.toml"
    copy.parent.mkdir()
    shutil.copyfile(DEFAULT_CONFIG / "icp.example.toml", copy)
    monkeypatch.chdir(tmp_path)
    settings = load_settings(copy)
    for connection in settings.connections.values():
        assert settings.mapping_path(connection).is_file() and settings.starter_path(connection).is_file()


def test_relative_paths_and_sqlite_stores_follow_the_config_file(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A mapping, a token file and a SQLite store named relatively are found beside the config, from any folder."""
    monkeypatch.delenv("ICP_DATABASE_URL", raising=False)
    folder = tmp_path / "conf"
    folder.mkdir()
    shutil.copyfile(DEFAULT_CONFIG / "hubspot-mapping.yaml", folder / "mine.yaml")
    (folder / "config.toml").write_text('database_url = "sqlite:///state/icp.db"\n[connections.main]\n'
                                        'mapping = "mine.yaml"\n[connections.main.hubspot]\ntoken_file = "token"\n')
    monkeypatch.chdir(tmp_path)
    settings = load_settings(folder / "config.toml")
    main = settings.connections["main"]
    assert settings.database_url == f"sqlite:///{(folder / 'state' / 'icp.db').as_posix()}"
    assert settings.mapping_path(main) == folder / "mine.yaml" and main.hubspot.token_file == folder / "token"
    monkeypatch.setenv("ICP_DATABASE_URL", "sqlite:///here.db")
    assert load_settings(folder / "config.toml").database_url == "sqlite:///here.db"


def test_a_missing_mapping_names_the_key_and_where_it_looked(tmp_path: Path) -> None:
    """The error says which key, which file, and that paths are taken from the config's folder."""
    (tmp_path / "icp.toml").write_text('[connections.acme]\nmapping = "gone.yaml"\n')
    with pytest.raises(ConfigError, match=r"connections\.acme\.mapping: .*gone\.yaml does not exist \(relative"):
        load_settings(tmp_path / "icp.toml")


@pytest.mark.parametrize(("crm", "options", "native"), [
    ("hubspot", HUBSPOT_INDUSTRIES, "COMPUTER_SOFTWARE"), ("salesforce", INDUSTRIES, "Technology")])
def test_each_crm_starter_scores_its_own_industry_values(crm: str, options: tuple[str, ...], native: str) -> None:
    """Every industry value of a CRM's starter scorecard is one of that CRM's standard values; the other CRM's
    starter would never match them, which the doctor reports."""
    mapping = load_mapping(DEFAULT_CONFIG / f"{crm}-mapping.yaml")
    field = mapping.accounts.attributes["industry"].field
    own = load_scorecard(DEFAULT_CONFIG / STARTER_SCORECARDS[crm])
    other = load_scorecard(DEFAULT_CONFIG / STARTER_SCORECARDS["salesforce" if crm == "hubspot" else "hubspot"])
    assert unmatched_values(own, mapping, {field: options}) == {}
    assert native in {str(v) for b in own.criteria[0].bins for v in b.values or ()}
    missing = unmatched_values(other, mapping, {field: options})
    assert missing["industry"][0] == field and len(missing["industry"][1]) >= 3


def _industry_of(mapping_text: str, tmp_path: Path, value: str) -> object:
    path = tmp_path / "mapping.yaml"
    path.write_text(mapping_text)
    record = Normaliser(load_mapping(path)).account(RawRecord("accounts", "1", None, {"Industry": value}))
    assert isinstance(record, AccountRecord)
    return record.attributes["industry"]


SF_MAPPING = (DEFAULT_CONFIG / "salesforce-mapping.yaml").read_text()


def test_the_mapping_translates_custom_picklist_values(tmp_path: Path) -> None:
    """Listed values become the canonical one (any case); others pass through as the CRM gave them."""
    text = SF_MAPPING.replace("industry: {field: Industry, type: category}",
                              "industry: {field: Industry, type: category, values: {Technology: [SaaS, Software]}}")
    assert text != SF_MAPPING
    assert _industry_of(text, tmp_path, "saas ") == "Technology"
    assert _industry_of(text, tmp_path, "Retail") == "Retail"
    card = load_scorecard(DEFAULT_CONFIG / "salesforce-starter-scorecard.yaml")
    mapping = load_mapping(tmp_path / "mapping.yaml")
    assert unmatched_values(card, mapping, {"Industry": ("SaaS", "Finance", "Banking", "Insurance",
                                                        "Telecommunications", "Media")}) == {}


@pytest.mark.parametrize(("values", "error"), [
    ("{Technology: [SaaS], Finance: [saas]}", "listed under both"),
    ("{Technology: SaaS}", "values"),
])
def test_a_bad_translation_names_the_problem(tmp_path: Path, values: str, error: str) -> None:
    """A value translated two ways, or a malformed list, is refused with the key named."""
    path = tmp_path / "mapping.yaml"
    path.write_text(SF_MAPPING.replace("industry: {field: Industry, type: category}",
                                       f"industry: {{field: Industry, type: category, values: {values}}}"))
    with pytest.raises(MappingError, match=error):
        load_mapping(path)


def test_numbers_do_not_translate(tmp_path: Path) -> None:
    """Translation is for categories: on a number field it is refused."""
    path = tmp_path / "mapping.yaml"
    path.write_text(SF_MAPPING.replace("employees: {field: NumberOfEmployees, type: number}",
                                       "employees: {field: NumberOfEmployees, type: number, values: {big: ['1000']}}"))
    with pytest.raises(MappingError, match="only category or text"):
        load_mapping(path)
