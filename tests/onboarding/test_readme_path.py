"""A new admin follows the README from a fresh checkout: the Quick start's demo, then every next command it
prints, unchanged, in a shell, against the config the demo left behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer

from worker.cli import app

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
URL = re.compile(r"https?://[\w.:\-\[\]]+(?:/[^\s\"'<>]*)?")


def quick_start() -> list[str]:
    """The commands of the README's Quick start block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None, "the Quick start has a bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def clean_env() -> dict[str, str]:
    """A shell as a new admin has it: no ICP, HubSpot or Salesforce settings; the installed `icp` on PATH."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("ICP_", "HUBSPOT_", "SALESFORCE_"))}
    return keep | {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "COLUMNS": "100"}


def next_commands(output: str) -> list[str]:
    """The commands the demo prints after its "Next" heading (two-space indented lines starting with icp)."""
    tail = output.split("Next", 1)[1]
    return [line.strip() for line in tail.splitlines() if line.startswith("  icp ")]


def test_quick_start_is_the_demo_and_the_tests() -> None:
    """Exactly two commands: install and run the demo; install and run the test suite."""
    first, second = quick_start()
    assert first.endswith(".venv/bin/icp demo") and "pip install" in first
    assert second.endswith(".venv/bin/pytest -q") and "'.[test]'" in second


def fetch(url: str, deadline: float) -> int:
    """The status of ``url`` once the server listens (it may print its address just before it does)."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return int(response.status)
        except urllib.error.URLError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def signs_in_as_printed(output: str, folder: Path) -> None:
    """The review pages' account the demo names exists, with the password in the file it names (owner-only)."""
    from worker.store import make_engine
    from worker.web.accounts import Accounts

    named = re.search(r"sign in as (\S+) with the password in (\S+)", " ".join(output.split()))
    assert named is not None, "the serve step says how to sign in"
    password_file = folder.parent / named.group(2)
    assert password_file.stat().st_mode & 0o077 == 0
    engine = make_engine(f"sqlite:///{folder / 'icp.db'}")
    try:
        assert Accounts(engine, lambda: datetime.now(UTC)).verify(named.group(1),
                                                                  password_file.read_text().strip())
    finally:
        engine.dispose()


def run_serving(command: str, cwd: Path, env: dict[str, str]) -> None:
    """Start a serving command, wait for the address it prints, fetch it, then stop it cleanly."""
    process = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=cwd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line)
            found = URL.search(line)
            if found:
                assert fetch(found.group(0), deadline) < 400
                return
        pytest.fail(f"{command!r} printed no address to open: {''.join(seen)[-2000:]}")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def test_demo_then_its_next_commands_work_as_printed(tmp_path: Path) -> None:
    """The demo runs two cycles, shows accounts, leaves a config beside its store, and each next command works."""
    env = clean_env()
    command = quick_start()[0].rsplit("&&", 1)[1].strip().replace(".venv/bin/icp", "icp")
    demo = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "records written: 2,000" in demo.stdout and "records written: 0 (unchanged 2,000" in demo.stdout
    assert demo.stdout.count("icp_fit_score") >= 3 and "demo approver" in demo.stdout
    assert (tmp_path / "icp-demo" / "icp.toml").is_file() and (tmp_path / "icp-demo" / "icp.db").is_file()
    steps = next_commands(demo.stdout)
    available = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    wanted = {"status", "refine"} | ({"serve"} & available)
    assert wanted <= {s.split()[3] for s in steps}, steps
    outputs = {}
    for step in steps:
        if step.split()[3] == "serve":
            signs_in_as_printed(demo.stdout, tmp_path / "icp-demo")
            run_serving(step, tmp_path, env)
            continue
        done = subprocess.run(["bash", "-c", step], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, f"{step}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        outputs[step.split()[3]] = done.stdout
    assert "v1 Starter hypothesis scorecard" in outputs["status"], "status reads the demo's store"
