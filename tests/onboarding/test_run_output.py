"""`icp run` on a new portal: it says which version it proposed and how to review it (people and `--json` alike),
and the leadership task it then raises says something true about a first version."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sandbox import start_hubspot_sandbox
from worker.cli import app
from worker.operate.refine_step import RefineReport, describe

runner = CliRunner()
TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"


def test_first_runs_propose_v1_say_how_to_review_it_and_raise_a_true_task(tmp_path: Path) -> None:
    """Run 1 proposes v1 and names the commands that review it; run 2 raises the leadership task about it."""
    with start_hubspot_sandbox(seed=11, accounts=800, token=TOKEN) as server:
        owner = server.world.owners[0].email
        config = tmp_path / "icp.toml"
        config.write_text(f'database_url = "sqlite:///store.db"\n[connections.main]\napprovers = ["{owner}"]\n'
                          f'[connections.main.review]\nleadership_owner = "{owner}"\n'
                          '[connections.main.refine]\ntarget = "won"\n')
        env = {"HUBSPOT_BASE_URL": server.url, "HUBSPOT_ACCESS_TOKEN": TOKEN}
        icp = ["--config", str(config)]
        assert runner.invoke(app, [*icp, "setup"], env=env).exit_code == 0
        first = runner.invoke(app, [*icp, "run", "--json"], env=env)
        second = runner.invoke(app, [*icp, "run"], env=env)
        third = runner.invoke(app, [*icp, "run", "--json", "--no-refine"], env=env)
        bodies = [server.tasks.read(server.tasks.row_of(i), "hs_task_body") for i in server.tasks.ids()]
    refine = json.loads(first.stdout)["refine"]
    assert refine["status"] == "ran" and refine["analysis"] == "proposed" and refine["version"] == "v1"
    assert refine["review"]["brief"] == f"icp --config {config} brief 1"
    assert refine["review"]["approve"] == f"icp --config {config} approve 1 --by <approver> --note <why>"
    printed = "\n".join(describe(RefineReport(**refine)))
    assert "proposed v1" in printed and refine["review"]["approve"] in printed
    assert second.exit_code == 0 and "v1 is proposed and waiting for a named approver" in second.stdout
    assert "refinement: not due yet" in second.stdout
    assert not [line for line in second.stdout.splitlines() if line.lstrip().startswith("{")]
    assert json.loads(third.stdout)["refine"]["status"] == "off"
    assert len(bodies) == 1 and "first version in force: all 800 accounts get a fit score" in bodies[0]
    assert "change tier" not in bodies[0]
