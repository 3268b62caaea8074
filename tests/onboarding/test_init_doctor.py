"""`icp init` writes a working config for each CRM; `icp doctor` then checks it against the sandbox and names, for
a wrong token, a missing scope or permission set, a missing field and a skewed clock, exactly what to fix."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sandbox import start_hubspot_sandbox, start_salesforce_sandbox
from sandbox.hubspot.scopes import ALL_SCOPES
from worker.cli import app
from worker.settings import load_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "salesforce"
TOKEN = "pat-na1-00000000-aaaa-bbbb-cccc-000000000000"
runner = CliRunner()


def init(folder: Path, *args: str) -> Path:
    """`icp init` for a script: flags only, no questions."""
    result = runner.invoke(app, ["init", "--dir", str(folder), "--approver", "ceo@example.com", "--no-input", *args])
    assert result.exit_code == 0, result.output
    return folder / "icp.toml"


def doctor(config: Path, env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """`icp doctor --json`: exit code and report; standard output holds the JSON document and nothing else."""
    result = runner.invoke(app, ["--config", str(config), "doctor", "--json"], env=env)
    return result.exit_code, json.loads(result.stdout)


def failed(report: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """The failed findings by area."""
    areas: dict[str, list[dict[str, str]]] = {}
    for finding in report["findings"]:
        if finding["status"] == "fail":
            areas.setdefault(finding["area"], []).append(finding)
    return areas


@contextmanager
def hubspot() -> Iterator[Any]:
    server = start_hubspot_sandbox(seed=5, accounts=40, token=TOKEN)
    try:
        yield server
    finally:
        server.stop()


def test_init_writes_a_commented_hubspot_config_that_loads(tmp_path: Path) -> None:
    """The config names the token's variable (never a token), the approvers, the store beside it."""
    config = init(tmp_path / "acme", "--crm", "hubspot", "--token-env", "ACME_HUBSPOT_TOKEN",
                  "--leadership-owner", "cro@example.com")
    text = config.read_text()
    assert 'token_env = "ACME_HUBSPOT_TOKEN"' in text and 'approvers = ["ceo@example.com"]' in text
    assert text.count("\n#") >= 10 and "pat-" not in text
    settings = load_settings(config)
    assert settings.database_url == f"sqlite:///{(tmp_path / 'acme' / 'icp-worker.db').as_posix()}"
    assert settings.mapping_path(settings.connections["main"]) == tmp_path / "acme" / "hubspot-mapping.yaml"
    again = runner.invoke(app, ["init", "--dir", str(tmp_path / "acme"), "--crm", "hubspot", "--approver", "x@y.z",
                                "--no-input"])
    assert again.exit_code == 2 and "--force" in again.stderr


def test_init_asks_when_run_by_a_person(tmp_path: Path) -> None:
    """Without flags it asks: CRM, name, approvers, store, owner, then the CRM's own questions."""
    answers = "salesforce\nemea\nvp@example.com, cfo@example.com\n\n\njwt_bearer\nacme.my\n\nSF_USER\n\n"
    result = runner.invoke(app, ["init", "--dir", str(tmp_path)], input=answers)
    assert result.exit_code == 0, result.output
    settings = load_settings(tmp_path / "icp.toml")
    emea = settings.connections["emea"]
    assert emea.crm == "salesforce" and emea.approvers == ["vp@example.com", "cfo@example.com"]
    assert emea.salesforce.auth == "jwt_bearer" and emea.salesforce.domain == "acme.my"
    assert emea.salesforce.username_env == "SF_USER" and "export SF_USER=..." in result.stdout


def test_init_refuses_to_leave_nobody_able_to_approve(tmp_path: Path) -> None:
    """A script that names no approver is told how, instead of getting a config where nobody can approve."""
    result = runner.invoke(app, ["init", "--dir", str(tmp_path), "--crm", "hubspot", "--no-input"])
    assert result.exit_code == 2 and "--approver" in result.stderr and not (tmp_path / "icp.toml").exists()


def test_doctor_on_hubspot_names_each_problem(tmp_path: Path) -> None:
    """Wrong token, a missing scope, missing owned properties, a skewed clock: each named with its fix."""
    config = init(tmp_path, "--crm", "hubspot")
    with hubspot() as server:
        env = {"HUBSPOT_BASE_URL": server.url, "HUBSPOT_ACCESS_TOKEN": "pat-na1-wrong"}
        code, report = doctor(config, env)
        assert code == 1 and "credentials" in failed(report)
        assert "HUBSPOT_ACCESS_TOKEN" in failed(report)["credentials"][0]["fix"]
        env["HUBSPOT_ACCESS_TOKEN"] = TOKEN
        code, report = doctor(config, env)
        assert code == 1 and list(failed(report)) == ["owned fields"]
        assert "icp setup" in failed(report)["owned fields"][0]["fix"]
        assert runner.invoke(app, ["--config", str(config), "setup"], env=env).exit_code == 0
        code, report = doctor(config, env)
        assert code == 0 and report["ok"], failed(report)
        assert {f["area"] for f in report["findings"] if f["status"] == "ok"} >= {
            "credentials", "scopes", "owned fields", "store", "clock", "scorecard values"}
        server.grant_scopes(ALL_SCOPES - {"crm.objects.deals.read"})
        code, report = doctor(config, env)
        assert code == 1 and "crm.objects.deals.read" in failed(report)["scopes"][0]["detail"]
        assert "Private Apps" in failed(report)["scopes"][0]["fix"]
        server.grant_scopes(None)
        server.delete_property("icp_fit_reasons")
        server.clock.advance(600)
        code, report = doctor(config, env)
    assert code == 1 and set(failed(report)) == {"owned fields", "clock"}
    assert "icp_fit_reasons" in failed(report)["owned fields"][0]["detail"]
    assert "behind" in failed(report)["clock"][0]["detail"] and "NTP" in failed(report)["clock"][0]["fix"]


def salesforce_config(folder: Path, org: Any) -> Path:
    """`icp init` for Salesforce, plus what only the sandbox needs: its login URL and the CA it was signed with."""
    config = init(folder, "--crm", "salesforce", "--auth", "client_credentials", "--domain", "acme.my")
    text = config.read_text()
    header = "[connections.main.salesforce]\n"
    config.write_text(text.replace(header, f'{header}login_url = "{org.url}"\nca_bundle = "{org.ca_path}"\n'))
    return config


def test_doctor_on_salesforce_names_each_problem(tmp_path: Path) -> None:
    """Wrong secret, permission set not assigned, a deleted field: each named with the command that fixes it."""
    with start_salesforce_sandbox(seed=5, accounts=40) as org:
        config = salesforce_config(tmp_path, org)
        env = {"SALESFORCE_CLIENT_ID": org.credentials.client_id, "SALESFORCE_CLIENT_SECRET": "wrong"}
        code, report = doctor(config, env)
        assert code == 1 and "invalid_client" in failed(report)["credentials"][0]["detail"]
        assert "SALESFORCE_CLIENT_SECRET" in failed(report)["credentials"][0]["fix"]
        env["SALESFORCE_CLIENT_SECRET"] = org.credentials.client_secret
        org.deploy(DEPLOY, assign=None)
        code, report = doctor(config, env)
        assert code == 1 and "not assigned" in failed(report)["permission set"][0]["detail"]
        assert "sf org assign permset --name ICP_Worker" in failed(report)["permission set"][0]["fix"]
        assert "hidden" in failed(report)["owned fields"][0]["detail"]
        org.deploy(DEPLOY)
        code, report = doctor(config, env)
        assert code == 0 and report["ok"], failed(report)
        assert [f["status"] for f in report["findings"] if f["area"] == "scorecard values"] == ["ok"], report
        org.delete_field("Account", "ICP_Fit_Reasons__c")
        code, report = doctor(config, env)
    assert code == 1 and list(failed(report)) == ["owned fields"]
    owned = failed(report)["owned fields"][0]
    assert "Account.ICP_Fit_Reasons__c" in owned["detail"] and "deploy/salesforce" in owned["fix"]


def test_doctor_prints_for_people_without_a_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With no config it says nobody can approve and how to name approvers; its output is text, not JSON."""
    monkeypatch.delenv("ICP_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["doctor"], env={"HUBSPOT_ACCESS_TOKEN": ""})
    assert result.exit_code == 1 and not result.stdout.lstrip().startswith("{")
    assert "names no approvers" in result.stdout and "approvers = [" in result.stdout
    assert "HUBSPOT_ACCESS_TOKEN" in result.stdout
