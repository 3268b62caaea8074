"""The ``icp`` command line: help everywhere, exit codes, the demo, and ``run --json`` against the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sandbox import start_hubspot_sandbox
from worker.cli import app

runner = CliRunner()
COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_help_lists_every_command() -> None:
    """``icp --help`` lists each command with a line of help."""
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("run", "demo", "setup", "approve", "sandbox"):
        assert name in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    """Every command answers ``--help`` with exit code 0."""
    assert runner.invoke(app, [command, "--help"]).exit_code == 0


def test_bad_usage_exits_2() -> None:
    """An unknown option is bad usage: exit code 2."""
    assert runner.invoke(app, ["run", "--no-such-option"]).exit_code == 2


def test_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    """A config error exits 2 and names the key."""
    config = tmp_path / "icp.toml"
    config.write_text('[connections.main.hubspot]\nper_10s = "fast"\n')
    result = runner.invoke(app, ["--config", str(config), "versions"])
    assert result.exit_code == 2 and "connections.main.hubspot.per_10s" in result.output


def test_missing_token_exits_2_without_leaking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run without credentials says which variable to set."""
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("ICP_DATABASE_URL", f"sqlite:///{tmp_path / 's.db'}")
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 2 and "HUBSPOT_ACCESS_TOKEN" in result.output


def test_unlisted_approver_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Approving as someone not named in the config is refused."""
    monkeypatch.setenv("ICP_DATABASE_URL", f"sqlite:///{tmp_path / 's.db'}")
    starter = Path(__file__).resolve().parents[2] / "config" / "starter-scorecard.yaml"
    assert runner.invoke(app, ["propose", str(starter), "--by", "revops"]).exit_code == 0
    result = runner.invoke(app, ["approve", "1", "--by", "intern@example.com", "--accept-risks"])
    assert result.exit_code == 2 and "not an approver" in result.output


def test_run_json_against_the_sandbox(tmp_path: Path) -> None:
    """``icp run --json`` prints one JSON summary with every documented key; the token never appears."""
    token = "pat-na1-11111111-2222-3333-4444-555555555555"
    with start_hubspot_sandbox(seed=3, accounts=150, token=token) as server:
        env = {**os.environ, "ICP_DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}", "HUBSPOT_BASE_URL": server.url,
               "HUBSPOT_ACCESS_TOKEN": token, "ICP_LOG_FORMAT": "json"}
        icp = [sys.executable, "-m", "worker.cli"]
        setup = subprocess.run([*icp, "setup"], env=env, capture_output=True, text=True, timeout=120)
        assert setup.returncode == 0, setup.stderr
        done = subprocess.run([*icp, "run", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    for key in ("run_id", "status", "pulled", "scored_by_tier", "written", "write_failures", "tasks_created",
                "api_calls", "duration_seconds"):
        assert key in summary
    assert summary["status"] == "ok" and summary["pulled"]["accounts"] == 150 and summary["written"] == 0
    assert token not in done.stdout + done.stderr + setup.stdout + setup.stderr
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert events and all(e.get("run_id") == summary["run_id"] for e in events if e["event"].startswith("cycle"))


def test_approve_prints_what_the_next_run_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A named approver approves with accepted risks, and sees the tier changes the next run will make."""
    monkeypatch.delenv("ICP_DATABASE_URL", raising=False)
    config = tmp_path / "icp.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path / "s.db"}"\n[connections.main]\n'
                      'approvers = ["ceo@example.com"]\n')
    starter = Path(__file__).resolve().parents[2] / "config" / "starter-scorecard.yaml"
    assert runner.invoke(app, ["--config", str(config), "propose", str(starter), "--by", "revops"]).exit_code == 0
    refused = runner.invoke(app, ["--config", str(config), "approve", "1", "--by", "ceo@example.com"])
    assert refused.exit_code == 2 and "--accept-risks" in refused.output
    result = runner.invoke(app, ["--config", str(config), "approve", "1", "--by", "ceo@example.com",
                                 "--accept-risks", "--note", "first hypothesis"])
    assert result.exit_code == 0 and "next run: 0 of 0 stored accounts change tier" in result.output
