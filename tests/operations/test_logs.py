"""Logs: one JSON object per line, run context bound on every event of a run, secrets never written."""

from __future__ import annotations

import io
import json
import secrets
from pathlib import Path

from sqlalchemy import Engine

from connectors.errors import FatalError
from tests.operations.conftest import FakeConnector, context_for
from worker.logs import REDACTOR, configure_logging, get_logger
from worker.operate.scheduler import run_locked_cycle

CANARY = "pat-na1-00000000-1111-2222-3333-444444444444"


def _json_log() -> io.StringIO:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    return stream


def test_secrets_never_reach_the_json_log(tmp_path: Path, engine: Engine) -> None:
    """A registered secret and a token-shaped canary are masked in messages, fields, nesting and tracebacks."""
    secret = secrets.token_urlsafe(24)
    REDACTOR.register(secret)
    stream = _json_log()
    error = FatalError(f"token {secret} rejected; Authorization: Bearer {CANARY}")
    summary = run_locked_cycle(context_for(tmp_path, engine), FakeConnector(fail_on="deals", error=error))
    log = get_logger("test")
    log.info("request", token=CANARY, headers={"authorization": [f"Bearer {secret}"]})
    try:
        raise RuntimeError(f"boom with {secret}")
    except RuntimeError:
        log.exception("crashed")
    output = stream.getvalue()
    events = [json.loads(line) for line in output.splitlines()]
    assert summary.status == "failed" and secret in (summary.message or "")
    assert secret not in output and CANARY not in output
    assert {"cycle.end", "request", "crashed"} <= {e["event"] for e in events}
    assert output.count("***") >= 5


def test_every_event_of_a_run_carries_its_context(tmp_path: Path, engine: Engine) -> None:
    """Events inside a run carry the run id and connection; sync events their phase and counts."""
    stream = _json_log()
    summary = run_locked_cycle(context_for(tmp_path, engine), FakeConnector(pages=2))
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    inside = events[[e["event"] for e in events].index("cycle.start"):]
    bound = [e for e in inside if e["event"] != "run_lock.released"]
    assert bound and all(e["run_id"] == summary.run_id and e["connection"] == "acme" for e in bound)
    sync = [e for e in inside if e["event"].startswith("sync.")]
    assert sync and all(e["phase"] == "sync" for e in sync)
    assert {e["object"]: e["pulled"] for e in sync if e["event"] == "sync.done"} == {
        "owners": 0, "accounts": 0, "deals": 0, "notes": 0}
    end = next(e for e in inside if e["event"] == "cycle.end")
    assert end["status"] == "partial" and end["written"] == 0 and "phase" not in end
