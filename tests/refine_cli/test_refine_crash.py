"""A refinement SIGKILLed right after storing its proposal: the next one finds the proposal with its brief, and
proposes nothing again (so no second version, and no second leadership task for the next cycle to raise)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from tests.refine_cli.test_refine_workflow import files  # noqa: F401 - the planted-truth CSV fixture
from worker.govern.briefs import read_brief
from worker.store import ReviewTask, ScorecardVersionRow, make_engine


def test_a_refinement_killed_after_storing_its_proposal_recovers(files: dict[str, Path],  # noqa: F811
                                                                 tmp_path: Path, store_url: str) -> None:
    config = tmp_path / "icp.toml"
    config.write_text(f'database_url = "{store_url}"\n[connections.main]\napprovers = ["ceo@example.com"]\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICP_")} | {"ICP_LOG_FORMAT": "json"}
    icp = [sys.executable, "-m", "worker.cli", "--config", str(config)]
    imported = subprocess.run([*icp, "import", "csv", "--mapping", str(files["mapping"]), "--accounts",
                               str(files["accounts"]), "--deals", str(files["deals"])], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
    assert imported.returncode == 0, imported.stderr
    child = subprocess.Popen([*icp, "refine"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    assert child.stderr is not None
    killed = False
    for line in child.stderr:
        if '"refine.stored"' in line:
            os.kill(child.pid, signal.SIGKILL)
            killed = True
            break
    child.wait(timeout=300)
    assert killed, "the refinement never stored a proposal"
    again = subprocess.run([*icp, "refine", "--json"], env=env, cwd=tmp_path, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    outcome: dict[str, Any] = json.loads(again.stdout)
    assert outcome["version"] == "v1" and outcome["new_version"] is False
    engine = make_engine(store_url)
    try:
        with Session(engine) as session:
            versions = session.execute(select(ScorecardVersionRow)).scalars().all()
            tasks = session.execute(select(ReviewTask).where(ReviewTask.version == 1)).scalars().all()
        assert len(versions) == 1 and versions[0].status == "proposed"
        assert read_brief(engine, "main", "v1", "html") and read_brief(engine, "main", "v1", "md")
        assert len({t.key for t in tasks}) == len(tasks)  # one version, so at most one leadership task per role
    finally:
        engine.dispose()
