"""The command line stays, but honest: who approved, as which OS user, through which channel; no duplicate versions."""

from __future__ import annotations

import json
import os
import pwd
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.refine_cli.test_refine_workflow import MAPPING, account_row, write_csv
from worker.cli import app
from worker.refine.synthetic import generate
from worker.settings import DEFAULT_CONFIG, ConfigError, load_settings

runner = CliRunner()
STARTER = DEFAULT_CONFIG / "starter-scorecard.yaml"
ROLES = """
[connections.main]
approvers = ["founder@example.com"]
viewers = ["analyst@example.com"]
[connections.main.review]
required_roles = ["sales", "delivery"]
[connections.main.review.roles]
sales = ["cro@example.com"]
delivery = ["cs-lead@example.com"]
"""


def make_icp(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> Any:
    config = tmp_path / "icp.toml"
    config.write_text(f'database_url = "{store_url}"\npublic_url = "https://icp.example.com/"\n{body}')
    monkeypatch.delenv("ICP_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> Any:
        return runner.invoke(app, ["--config", str(config), *args])
    return invoke


def said(result: Any) -> str:
    """The command's output with the terminal's line wrapping undone."""
    return " ".join(result.output.split())


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small planted-truth portal exported as CSV files."""
    crm = generate(900, seed=3, now=datetime.now(UTC))
    folder = tmp_path_factory.mktemp("evidence")
    deals = [{"Deal key": d.id, "Account key": d.account_id, "Stage": {"won": "Closed Won", "lost": "Closed Lost"}.get(
        d.outcome, "Negotiation"), "Created": d.created_at.isoformat() if d.created_at else "",
        "Closed": d.closed_at.isoformat() if d.closed_at else "", "Amount": d.amount or ""} for d in crm.deals]
    mapping = folder / "mapping.yaml"
    mapping.write_text(json.dumps({**MAPPING, "deals": {k: v for k, v in MAPPING["deals"].items()
                                                        if k in ("id", "account_id", "outcome", "created_at",
                                                                 "closed_at", "amount")}}))
    return {"accounts": write_csv(folder / "accounts.csv", [account_row(a) for a in crm.accounts]),
            "deals": write_csv(folder / "deals.csv", deals), "mapping": mapping}


@pytest.fixture
def icp(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    return make_icp(store_url, tmp_path, monkeypatch, ROLES)


def test_hand_written_scorecard_is_a_hypothesis_whatever_it_says(icp: Any, tmp_path: Path) -> None:
    """A YAML that claims kind: evidence is stored as a hypothesis and lists that risk."""
    claimed = tmp_path / "claims-evidence.yaml"
    claimed.write_text(STARTER.read_text().replace("kind: hypothesis", "kind: evidence"))
    assert "kind: evidence" in claimed.read_text()
    result = icp("propose", str(claimed), "--by", "revops")
    assert result.exit_code == 0, result.output
    assert "the file says kind: evidence" in said(result)
    assert "https://icp.example.com/connections/main/versions/1" in said(result)
    shown = json.loads(icp("versions", "show", "1", "--json").stdout)
    assert shown["kind"] == "hypothesis" and any("hypothesis" in r for r in shown["risks"])
    assert shown["still_needed"] == ["sales", "delivery"]


def test_approval_records_os_user_and_channel_and_waits_for_roles(icp: Any) -> None:
    """`--by` is recorded with the OS user and the channel; the version waits for delivery."""
    assert icp("propose", str(STARTER), "--by", "revops").exit_code == 0
    sales = icp("approve", "1", "--by", "cro@example.com", "--accept-risks", "--note", "fits our pipeline")
    assert sales.exit_code == 0, sales.output
    assert "still needed: delivery" in said(sales)
    me = pwd.getpwuid(os.getuid()).pw_name
    events = json.loads(icp("history", "--json").stdout)
    signed = events[-1]
    assert (signed["action"], signed["by"], signed["channel"], signed["os_user"], signed["roles"]) == (
        "signed", "cro@example.com", "cli", me, ["sales"])
    assert json.loads(icp("versions", "show", "1", "--json").stdout)["status"] == "proposed"
    viewer = icp("approve", "1", "--by", "analyst@example.com", "--accept-risks")
    assert viewer.exit_code == 2 and "not an approver" in said(viewer)
    done = icp("approve", "1", "--by", "cs-lead@example.com", "--accept-risks", "--note", "we can deliver")
    assert done.exit_code == 0 and "v1 approved by cs-lead@example.com (cli, OS user" in said(done)
    table = icp("history")
    assert table.exit_code == 0 and "signed" in table.output and "approved" in table.output


def test_versions_show_yaml_exports_the_document(icp: Any) -> None:
    """`icp versions show V --yaml` prints exactly the stored scorecard YAML, which loads again."""
    assert icp("propose", str(STARTER), "--by", "revops").exit_code == 0
    exported = icp("versions", "show", "1", "--yaml")
    assert exported.exit_code == 0 and exported.stdout.startswith("name:") and "criteria:" in exported.stdout
    assert icp("versions", "show", "7").exit_code == 2
    assert "v1" in icp("versions").output


def test_cli_approvals_off_makes_approval_web_only(store_url: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """With cli_approvals = false, approve, reject and rollback refuse and point at the review page."""
    icp = make_icp(store_url, tmp_path, monkeypatch,
                   ROLES.replace('required_roles = ["sales", "delivery"]',
                                 'required_roles = ["sales", "delivery"]\ncli_approvals = false'))
    assert icp("propose", str(STARTER), "--by", "revops").exit_code == 0
    for args in (("approve", "1", "--by", "cro@example.com", "--accept-risks"),
                 ("reject", "1", "--by", "cro@example.com", "--note", "no")):
        result = icp(*args)
        assert result.exit_code == 2 and "cli_approvals is false" in said(result)
        assert "https://icp.example.com" in said(result)
    assert json.loads(icp("history", "--json").stdout)[-1]["action"] == "proposed"


def test_refining_unchanged_evidence_adds_no_version(icp: Any, evidence: dict[str, Path]) -> None:
    """A second refinement on the same evidence stores nothing new; a newer hand-written proposal supersedes."""
    assert icp("import", "csv", "--mapping", str(evidence["mapping"]), "--accounts", str(evidence["accounts"]),
               "--deals", str(evidence["deals"])).exit_code == 0
    first = json.loads(icp("refine", "--json").stdout)
    assert first["version"] == "v1" and first["new_version"] is True, first["headline"]
    again = icp("refine")
    assert again.exit_code == 0 and "already scores exactly like this" in said(again)
    assert [v["version"] for v in json.loads(icp("versions", "--json").stdout)] == [1]
    assert "ICP refinement brief" in icp("brief", "1").output
    assert icp("propose", str(STARTER), "--by", "revops").exit_code == 0
    statuses = {v["version"]: v["status"] for v in json.loads(icp("versions", "--json").stdout)}
    assert statuses == {1: "superseded", 2: "proposed"}


def test_required_role_without_people_is_a_config_error(tmp_path: Path) -> None:
    """A required role nobody holds is refused at start-up, naming the role."""
    config = tmp_path / "icp.toml"
    config.write_text('[connections.main.review]\nrequired_roles = ["sales", "legal"]\n'
                      '[connections.main.review.roles]\nsales = ["cro@example.com"]\n')
    with pytest.raises(ConfigError, match="legal has no approvers"):
        load_settings(config)
    config.write_text('public_url = "icp.example.com"\n')
    with pytest.raises(ConfigError, match="public_url"):
        load_settings(config)
