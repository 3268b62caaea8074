"""``icp demo --crm salesforce``, and ``icp setup`` / ``icp run`` against a Salesforce sandbox org."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from sandbox import start_salesforce_sandbox
from worker.cli import app

runner = CliRunner()


def test_demo_runs_against_the_salesforce_sandbox(tmp_path: Path) -> None:
    """The demo deploys the fields over the API, writes every account once, then writes nothing; its starter
    scorecard speaks Salesforce's Industry values, so the top tier is reachable."""
    result = runner.invoke(app, ["demo", "--crm", "salesforce", "--accounts", "150", "--dir", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "Salesforce org" in result.output and "Task.ICP_Review_Key__c" in result.output
    assert "records written: 150" in result.output and "records written: 0 (unchanged 150" in result.output
    assert result.output.count("ICP_Fit_Score__c") >= 4
    tiers = re.search(r"accounts scored by tier \(v1\): A (\d+)", result.output)
    assert tiers is not None and int(tiers.group(1)) > 0
    assert 'crm = "salesforce"' in (tmp_path / "demo" / "icp.toml").read_text()


def test_setup_and_run_use_the_configured_connection(tmp_path: Path) -> None:
    """A TOML connection with crm = "salesforce" sets up the fields and runs a cycle; secrets never appear."""
    with start_salesforce_sandbox(seed=3, accounts=80) as org:
        config = tmp_path / "icp.toml"
        config.write_text(f'database_url = "sqlite:///{tmp_path / "store.db"}"\n'
                          '[connections.acme]\ncrm = "salesforce"\n'
                          f'[connections.acme.salesforce]\nlogin_url = "{org.url}"\nca_bundle = "{org.ca_path}"\n')
        secret = org.credentials.client_secret
        env = {k: v for k, v in os.environ.items() if k != "ICP_DATABASE_URL"} | {
            "SALESFORCE_CLIENT_ID": org.credentials.client_id, "SALESFORCE_CLIENT_SECRET": secret,
            "ICP_LOG_FORMAT": "json"}
        icp = [sys.executable, "-m", "worker.cli", "--config", str(config)]
        setup = subprocess.run([*icp, "setup"], env=env, capture_output=True, text=True, timeout=120)
        assert setup.returncode == 0, setup.stderr
        assert "ICP_Fit_Score__c" in setup.stdout
        run = subprocess.run([*icp, "run", "--json", "--no-refine"], env=env, capture_output=True, text=True,
                             timeout=120)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["status"] == "ok" and summary["pulled"]["accounts"] == 80
    assert summary["api_calls"]["POST oauth2/token"] == 1
    assert secret not in setup.stdout + setup.stderr + run.stdout + run.stderr
