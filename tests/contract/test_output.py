"""Every command's output is for people or for machines, never both, on every CRM and store: `--json` prints one
JSON document and nothing else on standard output; text output carries no JSON; the logs go to standard error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from tests.contract.harness import CrmHarness
from worker.cli import app

runner = CliRunner()


def connection(crm: CrmHarness, store_url: str, folder: Path) -> tuple[Path, dict[str, str]]:
    """A config file for the harness's sandbox, and the environment holding its credentials."""
    lines = [f"database_url = {json.dumps(store_url)}", 'log_format = "json"', "[connections.main]",
             f'crm = "{crm.crm}"', 'approvers = ["leader@example.com"]']
    server: Any = crm.server
    if crm.crm == "salesforce":
        lines += ["[connections.main.salesforce]", f'login_url = "{server.url}"', f'ca_bundle = "{server.ca_path}"']
        env = {"SALESFORCE_CLIENT_ID": server.credentials.client_id,
               "SALESFORCE_CLIENT_SECRET": server.credentials.client_secret}
    else:
        env = {"HUBSPOT_BASE_URL": server.url, "HUBSPOT_ACCESS_TOKEN": "t0ken-sandbox"}
    config = folder / "icp.toml"
    config.write_text("\n".join(lines) + "\n")
    return config, env


def machine(result: Result) -> Any:
    """The one JSON document of a `--json` command (json.loads refuses anything before or after it)."""
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def people(result: Result) -> str:
    """Text output: no line of it is a JSON object."""
    assert result.exit_code == 0, result.output
    assert not [line for line in result.stdout.splitlines() if line.lstrip().startswith(("{", '"event"'))]
    return result.stdout


def test_no_json_on_standard_output_except_json_documents(crm: CrmHarness, store_url: str, tmp_path: Path) -> None:
    """setup, run, status and doctor, as text and as `--json`; the run's log events are on standard error."""
    config, env = connection(crm, store_url, tmp_path)
    icp = ["--config", str(config)]
    people(runner.invoke(app, [*icp, "setup"], env=env))
    first = runner.invoke(app, [*icp, "run", "--json", "--no-refine"], env=env)
    summary = machine(first)
    assert summary["status"] == "ok" and summary["pulled"]["accounts"] > 0
    events = [json.loads(line) for line in first.stderr.splitlines() if line.startswith("{")]
    assert {"cycle.start", "cycle.end"} <= {e["event"] for e in events}
    assert "v1" not in people(runner.invoke(app, [*icp, "run", "--no-refine"], env=env))
    assert machine(runner.invoke(app, [*icp, "status", "--json"], env=env))["version"] is None
    report = machine(runner.invoke(app, [*icp, "doctor", "--json"], env=env))
    failed = {f["area"] for f in report["findings"] if f["status"] == "fail"}
    assert report["crm"] == crm.crm and failed == {"clock"}, report  # the harness runs the CRM's clock in 2026-11
    text = runner.invoke(app, [*icp, "doctor"], env=env)
    assert text.exit_code == 1 and "owned fields" in text.stdout and not text.stdout.lstrip().startswith("{")
