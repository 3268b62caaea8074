"""Local accounts from the command line, and the shipped example config's review settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from worker.cli import app
from worker.settings import DEFAULT_CONFIG, load_settings

runner = CliRunner()


def test_users_add_passwd_remove(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Accounts are created with a hashed password, changed, listed and removed; bad input exits 2."""
    monkeypatch.setenv("ICP_DATABASE_URL", store_url)

    def icp(*args: str, stdin: str | None = None) -> object:
        return runner.invoke(app, ["users", *args], input=stdin)

    added = icp("add", "CRO@Example.com", "--password-stdin", stdin="a long enough password\n")
    assert added.exit_code == 0 and "account cro@example.com created" in added.output  # type: ignore[attr-defined]
    assert icp("add", "cro@example.com", "--password-stdin", stdin="another long password\n").exit_code == 2  # type: ignore[attr-defined]
    short = icp("passwd", "cro@example.com", "--password-stdin", stdin="short\n")
    assert short.exit_code == 2 and "at least 12" in short.output  # type: ignore[attr-defined]
    assert icp("passwd", "cro@example.com", "--password-stdin", stdin="a new long password\n").exit_code == 0  # type: ignore[attr-defined]
    assert "cro@example.com" in icp("list").output  # type: ignore[attr-defined]
    assert icp("remove", "cro@example.com").exit_code == 0  # type: ignore[attr-defined]
    assert icp("remove", "cro@example.com").exit_code == 2  # type: ignore[attr-defined]
    assert icp("add", "not-an-email", "--password-stdin", stdin="a long enough password\n").exit_code == 2  # type: ignore[attr-defined]


def test_example_config_as_shipped_names_roles_and_review_pages() -> None:
    """config/icp.example.toml loads as shipped: public URL, viewers, required roles and who holds them."""
    settings = load_settings(DEFAULT_CONFIG / "icp.example.toml")
    main = settings.connections["main"]
    assert settings.public_url == "http://127.0.0.1:8080" and settings.web.max_failed_logins == 5
    assert main.review.required_roles == ["sales", "delivery"] and main.review.roles["sales"] == ["cro@example.com"]
    assert main.viewers == ["analyst@example.com"] and main.review.cli_approvals is True
    assert settings.proposal_url("main", 3) == "http://127.0.0.1:8080/connections/main/versions/3"


def test_reverse_proxy_config_in_deploy_readme_loads(tmp_path: Path) -> None:
    """The TOML in deploy/README.md's reverse-proxy section is a valid config, as shipped."""
    readme = (Path(__file__).resolve().parents[2] / "deploy" / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The review pages behind a reverse proxy", 1)[1]
    block = section.split("```toml\n", 1)[1].split("```", 1)[0]
    config = tmp_path / "icp.toml"
    config.write_text(block)
    settings = load_settings(config)
    assert settings.public_url == "https://icp.example.com" and settings.web.forwarded_allow_ips == "127.0.0.1"
    assert settings.proposal_url("default", 2) == "https://icp.example.com/connections/default/versions/2"


def test_icp_serve_listens_on_loopback(tmp_path: Path) -> None:
    """`icp serve` binds 127.0.0.1 by default and answers with the sign-in page."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.web.browser import free_port

    port = free_port()
    env = {**os.environ, "ICP_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}", "ICP_LOG_FORMAT": "json"}
    env.pop("ICP_CONFIG", None)
    server = subprocess.Popen([sys.executable, "-m", "worker.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, body = time.monotonic() + 60, ""
        while time.monotonic() < deadline and not body:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/signin", timeout=2) as response:
                    body = response.read().decode()
            except OSError:
                time.sleep(0.3)
        assert 'name="csrf_token"' in body
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert f"review pages on http://127.0.0.1:{port}" in output
