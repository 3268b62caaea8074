"""Issue 9's sandbox check: the demo's planted world (2,000 accounts, seed 7, starter card in force, one
cycle), then ``icp refine --json``: industry, employees and the data warehouse are selected, the card is
within 0.01 AUC of a plain logistic regression on the same held-out deals, and the result either beats the
version in force (paired interval above zero) or is a plain ``no_improvement``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from worker.cli import app

runner = CliRunner()


def test_demo_world_refines_to_the_planted_drivers(tmp_path: Path) -> None:
    demo = tmp_path / "icp-demo"
    result = runner.invoke(app, ["demo", "--dir", str(demo)])
    assert result.exit_code == 0, result.output
    refined = runner.invoke(app, ["--config", str(demo / "icp.toml"), "refine", "--json"])
    assert refined.exit_code == 0, refined.output
    document = json.loads(refined.stdout)
    assert {"industry", "employees", "uses_data_warehouse"} <= set(document["selected"])
    validation = document["validation"]
    card, lr = validation["proposed"]["auc"], validation["baseline"]["auc"]
    assert card >= lr - 0.01, (card, lr)
    comparison = validation["comparison"]
    assert validation["current"]["n"] == validation["proposed"]["n"] == validation["baseline"]["n"]
    if document["status"] == "proposed":
        assert comparison["low"] > 0 and "against" in document["headline"]
    else:
        assert document["status"] == "no_improvement"
        assert document["headline"].startswith("No improvement over the version in force")
        assert any(r.startswith("no_improvement") for r in document["risks"])
    assert validation["reason"] and validation["method"] in ("out_of_time", "repeated_kfold")
