"""Outputs that cannot attack their reader: spreadsheet-safe CSV, private files, a private umask, https-only
Salesforce URLs, TLS and network errors that name their real cause and host."""

from __future__ import annotations

import configparser
import csv
import re
import stat
from pathlib import Path

import pytest
import requests
import responses
from typer.testing import CliRunner

from connectors.errors import ConnectorError, FatalError
from connectors.http import RetryPolicy
from connectors.hubspot import HubSpotConnector, HubSpotSettings
from connectors.salesforce import Credentials, SalesforceConnector
from sandbox import start_hubspot_sandbox
from tests.contract.harness import salesforce_harness, salesforce_settings
from worker.cli import app
from worker.score.score_file import spreadsheet_safe
from worker.store import make_engine, migrate

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
NO_RETRY = RetryPolicy(max_tries=1)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("cell", "safe"), [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("@SUM(1+1)", "'@SUM(1+1)"), ("-2+3", "'-2+3"), ("+25 industry: Software", "'+25 industry: Software"),
    ("\t=1", "'\t=1"), ("Acme", "Acme"), ("", "")])
def test_cells_that_start_a_formula_are_made_text(cell: str, safe: str) -> None:
    assert spreadsheet_safe(cell) == safe


def test_score_file_output_is_spreadsheet_safe_and_private(tmp_path: Path) -> None:
    """Ids from the file and every other cell never start a formula; the file is 0600."""
    config = tmp_path / "icp.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path / "s.db"}"\n[connections.main]\ncrm = "hubspot"\n'
                      'approvers = ["lead@example.com"]\n', encoding="utf-8")
    icp = ["--config", str(config)]
    assert runner.invoke(app, [*icp, "propose", str(ROOT / "config" / "starter-scorecard.yaml"),
                               "--by", "x"]).exit_code == 0
    approved = runner.invoke(app, [*icp, "approve", "1", "--by", "lead@example.com", "--accept-risks",
                                   "--note", "test"])
    assert approved.exit_code == 0, approved.output
    data = tmp_path / "accounts.csv"
    header = "Company ID,Industry,Number of employees,Annual revenue,Country,Uses a data warehouse\n"
    data.write_text(header + '"=HYPERLINK(""http://evil"",""x"")",Software,120,5000000,US,true\n'
                    "@SUM(A1),Software,300,9000000,US,true\n+cmd|calc,Retail,5,10000,US,false\n", encoding="utf-8")
    out = tmp_path / "scored.csv"
    result = runner.invoke(app, [*icp, "score-file", str(data), "--mapping",
                                 str(ROOT / "config" / "csv-mapping.example.yaml"), "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(out.open(encoding="utf-8")))[1:]
    assert [r[0] for r in rows] == ["'=HYPERLINK(\"http://evil\",\"x\")", "'@SUM(A1)", "'+cmd|calc"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert _mode(out) == 0o600


def test_the_sqlite_store_is_created_private(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    engine.dispose()
    assert _mode(tmp_path / "store.db") == 0o600


def test_briefs_and_reports_are_written_private(tmp_path: Path) -> None:
    config = tmp_path / "icp.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path / "s.db"}"\n[connections.main]\ncrm = "hubspot"\n'
                      'approvers = ["lead@example.com"]\n', encoding="utf-8")
    report = tmp_path / "report.html"
    result = runner.invoke(app, ["--config", str(config), "report", "--output", str(report)])
    assert result.exit_code == 0, result.output
    assert _mode(report) == 0o600
    brief = tmp_path / "brief.html"
    result = runner.invoke(app, ["--config", str(config), "refine", "--output", str(brief)])
    assert brief.exists() and _mode(brief) == 0o600, result.output


def test_the_systemd_unit_sets_a_private_umask() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((ROOT / "deploy" / "systemd" / "icp-worker.service").read_text(encoding="utf-8"))
    assert parser["Service"]["UMask"] == "0077"


@pytest.mark.parametrize("field", ["login_url", "instance_url"])
def test_salesforce_refuses_plain_http(field: str) -> None:
    """A client secret or JWT is never sent over http: the settings are refused before any call."""
    credentials = Credentials("client_credentials", client_id="id", client_secret="s3cret")
    with salesforce_harness(accounts=1) as sf:
        settings = salesforce_settings(sf.server, **{field: "http://login.example.com"})
        with pytest.raises(FatalError, match=f"{field} must be an https:// URL") as raised:
            SalesforceConnector(settings.__class__(**{**settings.__dict__, "credentials": credentials}))
    assert "s3cret" not in str(raised.value)


@responses.activate
def test_salesforce_refuses_an_http_instance_from_login() -> None:
    """A login answer pointing the session at an http:// instance is refused."""
    responses.post("https://acme.my.salesforce.com/services/oauth2/token",
                   json={"access_token": "00Dxx!tok", "instance_url": "http://acme.my.salesforce.com"})
    credentials = Credentials("client_credentials", client_id="id", client_secret="s3cret")
    from connectors.salesforce import SalesforceSettings
    connector = SalesforceConnector(SalesforceSettings(credentials=credentials,
                                                       login_url="https://acme.my.salesforce.com", retry=NO_RETRY))
    with pytest.raises(ConnectorError, match="not https://"):
        connector.client.sf()


def test_an_untrusted_certificate_names_the_verifiers_reason() -> None:
    """Without the sandbox's CA the error says the certificate did not verify, why, and for which host."""
    with salesforce_harness(accounts=1, ca_bundle=None, retry=NO_RETRY) as sf:
        with pytest.raises(FatalError) as raised:
            sf.connector.client.sf()
        host = sf.server.url.removeprefix("https://")
    text = str(raised.value)
    assert "certificate verification failed for " + host in text
    assert "unable to get local issuer certificate" in text or "self-signed" in text or "self signed" in text


def test_tls_to_a_plain_http_server_is_not_called_a_certificate_problem() -> None:
    """https:// to a server that speaks http: a handshake failure, said as such, not a certificate one."""
    with start_hubspot_sandbox(seed=1, accounts=1) as plain:
        url = plain.url.replace("http://", "https://")
        from connectors.salesforce import SalesforceSettings
        credentials = Credentials("client_credentials", client_id="id", client_secret="s3cret")
        connector = SalesforceConnector(SalesforceSettings(credentials=credentials, login_url=url, retry=NO_RETRY))
        with pytest.raises(FatalError) as raised:
            connector.client.sf()
    text = str(raised.value)
    assert "TLS handshake with 127.0.0.1" in text and "certificate verification" not in text


def test_a_refused_connection_names_the_host() -> None:
    """Nothing listening: "127.0.0.1:9: connection refused", not "HTTP 0: MaxRetryError"."""
    connector = HubSpotConnector(HubSpotSettings(access_token="t", base_url="http://127.0.0.1:9", retry=NO_RETRY))
    with pytest.raises(ConnectorError) as raised:
        connector.check_fields([])
    assert "127.0.0.1:9: connection refused" in str(raised.value) and "MaxRetryError" not in str(raised.value)


def test_a_refused_salesforce_login_names_the_host() -> None:
    from connectors.salesforce import SalesforceSettings
    credentials = Credentials("client_credentials", client_id="id", client_secret="s3cret")
    connector = SalesforceConnector(SalesforceSettings(credentials=credentials, login_url="https://127.0.0.1:9",
                                                       retry=NO_RETRY))
    with pytest.raises(ConnectorError, match=r"127\.0\.0\.1:9: connection refused"):
        connector.client.sf()
    assert requests  # the connector speaks through requests


def test_the_markdown_brief_carries_no_raw_html_from_crm_data() -> None:
    """A ``<script>`` in CRM data (here a readiness message and the label) reaches the Markdown brief as text."""
    from dataclasses import replace

    from tests.refine.planted import planted_analysis
    from worker.refine.brief import render_brief

    hostile = replace(planted_analysis(), messages=("<script>alert(1)</script> [click](javascript:alert(2))",))
    markdown = render_brief(hostile, "<img src=x onerror=alert(3)>", "md")
    assert "<script" not in markdown.lower() and "<img" not in markdown.lower()
    assert re.search(r"(?<!\\)\]\(javascript:", markdown) is None  # the brackets are escaped: no link
