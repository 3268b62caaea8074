"""Refinement on historical evidence: ``icp refine --as-of`` / ``[refine] as_of``, and why deals are left out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.refine_cli.test_refine_workflow import MAPPING, account_row, write_csv
from worker.cli import app
from worker.refine.synthetic import generate

runner = CliRunner()
THEN = datetime(2021, 6, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Evidence exported in mid-2021: every deal closed years before today."""
    crm = generate(500, seed=5, now=THEN)
    folder = tmp_path_factory.mktemp("history")
    deals = [{"Deal key": d.id, "Account key": d.account_id,
              "Stage": {"won": "Closed Won", "lost": "Closed Lost"}.get(d.outcome, "Negotiation"),
              "Created": d.created_at.isoformat() if d.created_at else "",
              "Closed": d.closed_at.isoformat() if d.closed_at else "", "Amount": d.amount or "",
              "Source": d.lead_source or "", "Loss reason": d.loss_reason or "", "Competitor": d.competitor or ""}
             for d in crm.deals]
    undated = [dict(d, Closed="") for d in deals[:7] if d["Stage"] != "Negotiation"]
    mapping = folder / "mapping.yaml"
    mapping.write_text(json.dumps(MAPPING))
    return {"accounts": write_csv(folder / "accounts.csv", [account_row(a) for a in crm.accounts]),
            "deals": write_csv(folder / "deals.csv", deals[7:] + undated), "mapping": mapping,
            "undated": len(undated)}  # type: ignore[dict-item]


def icp_with(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refine: str = "") -> Any:
    config = tmp_path / "icp.toml"
    config.write_text(f'database_url = "{store_url}"\n[connections.main]\napprovers = ["ceo@example.com"]\n'
                      + (f"[connections.main.refine]\n{refine}\n" if refine else ""))
    monkeypatch.delenv("ICP_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return lambda *args: runner.invoke(app, ["--config", str(config), *args])


def imported(icp: Any, files: dict[str, Path]) -> None:
    result = icp("import", "csv", "--mapping", str(files["mapping"]), "--accounts", str(files["accounts"]),
                 "--deals", str(files["deals"]))
    assert result.exit_code == 0, result.output


def test_refine_today_says_why_deals_were_left_out(store_url: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   history: dict[str, Any]) -> None:
    """With a window ending today, old deals are left out and the output counts them by reason; the undated
    closed deals are analysed, not left out."""
    icp = icp_with(store_url, tmp_path, monkeypatch)
    imported(icp, history)
    result = icp("refine")
    assert "deals left out" in result.output and "closed before the window:" in result.output
    assert "no close date" not in result.output.split("deals left out")[1].splitlines()[0]
    summary = json.loads(icp("refine", "--json").stdout)
    assert summary["readiness"]["won"] + summary["readiness"]["lost"] == history["undated"]


@pytest.mark.parametrize("how", ["option", "config"])
def test_as_of_ends_the_window_on_that_day(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           history: dict[str, Any], how: str) -> None:
    """``--as-of`` (or ``[refine] as_of``) analyses the deals of the 18 months before that day."""
    icp = icp_with(store_url, tmp_path, monkeypatch, 'as_of = "2021-06-30"' if how == "config" else "")
    imported(icp, history)
    result = icp("refine", "--json", *(["--as-of", "2021-06-30"] if how == "option" else []))
    assert result.exit_code == 0, result.output
    readiness = json.loads(result.stdout)["readiness"]
    assert readiness["window_end"] == "2021-06-30" and readiness["won"] >= 20 and readiness["lost"] >= 20
    assert readiness["excluded_deals"]["closed after now"] == 0
    assert summary_design(result.stdout) == "repeated_kfold"  # the undated deals cannot be ordered by time


def summary_design(stdout: str) -> str:
    return str(json.loads(stdout)["validation"]["method"])


def test_bad_as_of_is_refused(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A date that does not parse is a usage error naming the option, not a traceback."""
    icp = icp_with(store_url, tmp_path, monkeypatch)
    result = icp("refine", "--as-of", "last spring")
    assert result.exit_code == 2 and "--as-of" in result.output and "Traceback" not in result.output
