"""Fixtures for the operations tests: config files, a fake connector, a CRM that refuses, child processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from connectors.base import Connector, FieldSpec, OwnedFieldStatus, Page, PullRequest, TaskRequest, WriteOutcome
from worker.context import Context
from worker.settings import Settings, load_settings
from worker.store.scratch import scratch_schema

ROOT = Path(__file__).resolve().parents[2]
ICP = str(Path(sys.executable).with_name("icp"))


def write_config(path: Path, connections: Mapping[str, str], base_url: str = "http://127.0.0.1:9") -> Path:
    """A TOML config with the given connections (name → the TOML lines of its schedule table)."""
    lines = ['log_format = "json"']
    for name, schedule in connections.items():
        lines += [f"[connections.{name}]", 'crm = "hubspot"', f'approvers = ["{name}@example.com"]',
                  f"[connections.{name}.hubspot]", 'token_env = "ICP_TEST_TOKEN"', f'base_url = "{base_url}"',
                  f"[connections.{name}.schedule]", schedule]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def settings_for(tmp_path: Path, url: str, connections: Mapping[str, str],
                 base_url: str = "http://127.0.0.1:9") -> Settings:
    """Settings for a store URL and connections, as ``load_settings`` builds them."""
    return load_settings(write_config(tmp_path / "icp.toml", connections, base_url), {"database_url": url})


def context_for(tmp_path: Path, engine: Engine, base_url: str = "http://127.0.0.1:9") -> Context:
    """The context of one nightly connection, ``acme``, on ``engine``."""
    settings = settings_for(tmp_path, str(engine.url), {"acme": 'cron = "0 2 * * *"'}, base_url)
    return Context(settings, "acme", settings.connections["acme"], engine)


class FakeConnector(Connector):
    """A CRM in memory: empty pages per object, an optional error on one object, a hook per page fetched."""

    name = "fake"

    def __init__(self, pages: int = 1, fail_on: str | None = None, error: Exception | None = None,
                 on_page: Callable[[int], None] | None = None) -> None:
        self.calls: Counter[str] = Counter()
        self.pages, self.fail_on, self.error, self.on_page = pages, fail_on, error, on_page
        self.fetched = 0

    def pull(self, request: PullRequest) -> Iterator[Page]:
        self.calls[f"pull {request.object_type}"] += 1
        if request.object_type == self.fail_on and self.error is not None:
            raise self.error
        for _ in range(self.pages):
            self.fetched += 1
            if self.on_page is not None:
                self.on_page(self.fetched)
            yield Page(records=(), ordered=False)

    def check_fields(self, owned: Sequence[FieldSpec]) -> OwnedFieldStatus:
        return OwnedFieldStatus(missing=())

    def setup_fields(self, owned: Sequence[FieldSpec]) -> list[str]:
        return []

    def write_accounts(self, updates: Mapping[str, Mapping[str, str | None]]) -> WriteOutcome:
        return WriteOutcome(succeeded=tuple(updates), failed={})

    def find_task(self, key: str) -> str | None:
        return None

    def create_task(self, task: TaskRequest) -> str:
        return "task-1"

    def read_account(self, account_id: str, properties: Sequence[str]) -> dict[str, Any]:
        return {}


class _Refusing(BaseHTTPRequestHandler):
    delay = 0.0

    def _refuse(self) -> None:
        time.sleep(self.delay)
        body = json.dumps({"status": "error", "category": "INVALID_AUTHENTICATION",
                           "message": "Authentication credentials not found."}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = _refuse

    def log_message(self, *args: Any) -> None:
        pass


def refusing_crm(delay: float) -> Iterator[str]:
    """Serve a CRM that answers every call with 401 after ``delay`` seconds; yield its base URL."""
    handler = type("Refusing", (_Refusing,), {"delay": delay})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def crm_401() -> Iterator[str]:
    """A CRM that refuses every call at once."""
    yield from refusing_crm(0.0)


@pytest.fixture
def slow_crm_401() -> Iterator[str]:
    """A CRM that refuses every call after three seconds."""
    yield from refusing_crm(3.0)


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child process: this one's, run from the repository root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ICP_", "HUBSPOT_"))}
    env.update(PYTHONPATH=str(ROOT), **extra)
    return env


def spawn(args: Sequence[str], **env: str) -> subprocess.Popen[str]:
    """Start a child process with pipes for its output."""
    return subprocess.Popen(list(args), cwd=ROOT, env=child_env(**env), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def pg_store_url(pg_url: str) -> Iterator[str]:
    """A URL for a fresh, empty PostgreSQL schema (dropped afterwards)."""
    with scratch_schema(pg_url, "t") as url:
        yield url
