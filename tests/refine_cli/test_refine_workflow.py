"""Issue 3's commands end to end: CSV evidence in, a proposed version, its brief, a diff, a scored file out."""

from __future__ import annotations

import csv
import html as htmllib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from worker.cli import app
from worker.govern.briefs import read_fragment, read_summary
from worker.refine.synthetic import generate
from worker.store import make_engine

runner = CliRunner()
ATTRIBUTES = ("industry", "employees", "annual_revenue", "uses_data_warehouse", "funding_stage", "web_visits_30d",
              "region", "has_blog", "noise_index")
TYPES = {"employees": "number", "annual_revenue": "number", "web_visits_30d": "number", "noise_index": "number",
         "uses_data_warehouse": "boolean", "has_blog": "boolean"}
MAPPING = {
    "accounts": {
        "id": "Account key", "name": "Account name",
        "attributes": {a: {"column": a.replace("_", " ").title(), "type": TYPES.get(a, "category")}
                       for a in ATTRIBUTES},
        "health": {
            "retention_status": {"column": "Status", "type": "category",
                                 "values": {"active": ["Active"], "churned": ["Churned"],
                                            "contracted": ["Downgraded"]}},
            "delivery_fit": {"column": "Delivery fit", "type": "category"},
            "nps": {"column": "NPS", "type": "number"},
            "support_tickets": {"column": "Tickets", "type": "number"},
            "time_to_value_days": {"column": "Days to value", "type": "number"},
        },
    },
    "deals": {"id": "Deal key", "account_id": "Account key",
              "outcome": {"column": "Stage", "won": ["Closed Won"], "lost": ["Closed Lost"]},
              "created_at": "Created", "closed_at": "Closed", "amount": "Amount", "lead_source": "Source",
              "loss_reason": "Loss reason", "competitor": "Competitor"},
    "notes": {"text": "Note", "account_id": "Account key", "deal_id": "Deal key", "author": "Author",
              "created_at": {"column": "Date", "type": "datetime"}, "kind": "Kind"},
}
STATUS = {"active": "Active", "churned": "Churned", "contracted": "Downgraded"}


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def account_row(account: Any) -> dict[str, Any]:
    row = {"Account key": account.id, "Account name": f"Company {account.id}"}
    row |= {a.replace("_", " ").title(): "" if account.attributes.get(a) is None else account.attributes[a]
            for a in ATTRIBUTES}
    health = account.health
    row |= {"Status": STATUS.get(health.get("retention_status") or "", ""),
            "Delivery fit": health.get("delivery_fit") or "",
            "NPS": health.get("nps") or "", "Tickets": health.get("support_tickets") or "",
            "Days to value": health.get("time_to_value_days") or ""}
    return row


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Planted-truth evidence exported as CSV files, with two bad rows."""
    crm = generate(1500, seed=3, now=datetime.now(UTC))
    folder = tmp_path_factory.mktemp("csv")
    accounts = [account_row(a) for a in crm.accounts]
    accounts[3]["Employees"] = "lots"
    deals = [{"Deal key": d.id, "Account key": d.account_id, "Stage": {"won": "Closed Won", "lost": "Closed Lost"}.get(
        d.outcome, "Negotiation"), "Created": d.created_at.isoformat() if d.created_at else "",
        "Closed": d.closed_at.isoformat() if d.closed_at else "", "Amount": d.amount or "",
        "Source": d.lead_source or "", "Loss reason": d.loss_reason or "", "Competitor": d.competitor or ""}
        for d in crm.deals]
    deals[5]["Amount"] = "a lot"
    notes = [{"Note": n.text, "Account key": n.account_id, "Deal key": n.deal_id or "", "Author": n.author or "",
              "Date": n.created_at.isoformat() if n.created_at else "", "Kind": n.kind or ""} for n in crm.notes]
    mapping = folder / "mapping.yaml"
    mapping.write_text(json.dumps(MAPPING))
    flat = [{**deal, **accounts[int(str(deal["Account key"]).lstrip("A"))]} for deal in deals[:200]]
    return {"accounts": write_csv(folder / "accounts.csv", accounts), "deals": write_csv(folder / "deals.csv", deals),
            "notes": write_csv(folder / "notes.csv", notes), "flat": write_csv(folder / "flat.csv", flat),
            "mapping": mapping, "folder": folder}


@pytest.fixture
def icp(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    config = tmp_path / "icp.toml"
    config.write_text(f'database_url = "{store_url}"\n[connections.main]\napprovers = ["ceo@example.com"]\n')
    monkeypatch.delenv("ICP_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> Any:
        return runner.invoke(app, ["--config", str(config), *args])
    return invoke


def test_import_reports_bad_rows_and_imports_the_rest(icp: Any, files: dict[str, Path]) -> None:
    """Two bad rows are reported with file, row number and column; everything else is imported."""
    result = icp("import", "csv", "--mapping", str(files["mapping"]), "--accounts", str(files["accounts"]),
                 "--deals", str(files["deals"]), "--notes", str(files["notes"]))
    assert result.exit_code == 0, result.output
    assert "2 row(s) refused" in result.output
    assert "accounts.csv row 5, field Employees" in result.output
    assert "deals.csv row 7, field Amount" in result.output


def test_flat_deals_file_carries_the_accounts(icp: Any, files: dict[str, Path]) -> None:
    """One flat export, deals with account columns, imports both; its bad rows are refused row by row."""
    result = icp("import", "csv", "--mapping", str(files["mapping"]), "--deals", str(files["flat"]))
    assert result.exit_code == 0, result.output
    assert "198 deals" in result.output and "2 row(s) refused" in result.output
    assert "imported 0 accounts" not in result.output


def test_refine_brief_diff_and_score_file(icp: Any, files: dict[str, Path], tmp_path: Path, store_url: str) -> None:
    """Refine proposes an evidence version with its brief; diff and score-file work on it."""
    assert icp("import", "csv", "--mapping", str(files["mapping"]), "--accounts", str(files["accounts"]),
               "--deals", str(files["deals"]), "--notes", str(files["notes"])).exit_code == 0
    result = icp("refine", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    for key in ("readiness", "criteria", "under_review", "exclusions", "validation", "impact", "alignment"):
        assert key in summary
    assert summary["status"] == "proposed" and summary["version"] == "v1"
    selected = {c["attribute"] for c in summary["criteria"] if c["status"] == "selected"}
    assert {"industry", "uses_data_warehouse"} <= selected and not selected & {"region", "has_blog", "noise_index"}
    assert Path("icp-brief-v1.html").exists()
    markdown = icp("brief", "1", "--format", "md")
    assert markdown.exit_code == 0 and "v1" in markdown.output
    engine = make_engine(store_url)
    summary_kept = read_summary(engine, "main", "v1")
    fragment = read_fragment(engine, "main", "v1")
    assert summary_kept is not None and summary_kept.headline.startswith("Recommended: approve v1")
    assert fragment is not None and summary_kept.headline in htmllib.unescape(str(fragment))
    starter = Path(__file__).resolve().parents[2] / "config" / "starter-scorecard.yaml"
    assert icp("propose", str(starter), "--by", "revops").exit_code == 0
    changes = icp("diff", "1", "2", "--json")
    assert changes.exit_code == 0 and json.loads(changes.stdout)
    out = tmp_path / "scored.csv"
    scored = icp("score-file", str(files["accounts"]), "--mapping", str(files["mapping"]), "--version", "1",
                 "--output", str(out))
    assert scored.exit_code == 0, scored.output
    rows = list(csv.DictReader(out.open()))
    exported = sum(1 for _ in csv.DictReader(files["accounts"].open()))
    assert len(rows) == exported - 1 and {"id", "score", "tier", "version", "reasons"} <= set(rows[0])
    assert "row 5, field Employees" in scored.output
