"""deploy/: every file parses, every `icp` command it runs exists with those options, no secret is written in."""

from __future__ import annotations

import configparser
import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from worker.cli import app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SECRET_NAME = re.compile(r"(?i)(token|password|secret|api_?key|database_url)")
REFERENCE = re.compile(r"^(\$\{[A-Z_]+(:?[?-][^}]*)?\}|)$")
URL_PASSWORD = re.compile(r"://[^:/@\s]+:(\$\{[^}]*\}|[^@\s]+)@")


def _dockerfile() -> list[list[str]]:
    lines = (DEPLOY / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ").splitlines()
    commands = []
    for line in lines:
        if line.startswith(("CMD ", "HEALTHCHECK ")):
            commands.append(json.loads(line[line.index("CMD ") + 4:]))
    return commands


def _yaml_commands(node: Any) -> Iterator[list[str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("command", "args") and isinstance(value, list) and value and value[0] == "icp":
                yield value
            yield from _yaml_commands(value)
    elif isinstance(node, list):
        for item in node:
            yield from _yaml_commands(item)


def _yaml_file(name: str) -> list[Any]:
    return list(yaml.safe_load_all((DEPLOY / name).read_text(encoding="utf-8")))


def _systemd(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / "systemd" / name).read_text(encoding="utf-8"))
    return parser


def _commands() -> dict[str, list[list[str]]]:
    unit = _systemd("icp-worker.service")
    exec_start = shlex.split(unit["Service"]["ExecStart"])
    return {
        "Dockerfile": _dockerfile(),
        "compose.yaml": [c for doc in _yaml_file("compose.yaml") for c in _yaml_commands(doc)],
        "kubernetes/cronjob.yaml": [c for doc in _yaml_file("kubernetes/cronjob.yaml") for c in _yaml_commands(doc)],
        "kubernetes/deployment.yaml": [c for doc in _yaml_file("kubernetes/deployment.yaml")
                                       for c in _yaml_commands(doc)],
        "systemd/icp-worker.service": [[Path(exec_start[0]).name, *exec_start[1:]]],
    }


def _parse(argv: list[str]) -> str | None:
    """The command an `icp ...` line runs, if the CLI accepts it and its options (checked with --help, not run)."""
    assert argv[0] == "icp"
    result = CliRunner().invoke(app, [*argv[1:], "--help"], prog_name="icp")
    usage = re.match(r"Usage: icp (\S+) \[OPTIONS\]", result.output)
    return usage.group(1) if result.exit_code == 0 and usage else None


def test_each_file_runs_existing_icp_commands() -> None:
    """The Dockerfile, compose, both manifests and the unit run `icp` commands the CLI accepts."""
    found = {name: sorted(str(_parse(c)) for c in commands) for name, commands in _commands().items()}
    assert found == {"Dockerfile": ["healthcheck", "worker"], "compose.yaml": ["worker"],
                     "kubernetes/cronjob.yaml": ["run"], "kubernetes/deployment.yaml": ["healthcheck", "worker"],
                     "systemd/icp-worker.service": ["run"]}


def test_a_command_the_cli_lacks_is_caught() -> None:
    """The check rejects an unknown command or option."""
    assert [_parse(argv) for argv in (["icp", "daemonize"], ["icp", "run", "--forever"], ["icp", "run", "--once"])] == [
        None, None, "run"]


def test_the_image_is_slim_unprivileged_and_checked() -> None:
    """The image: python:3.11-slim, a non-root user, a health check."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.findall(r"^FROM (\S+)", text, re.M) == ["python:3.11-slim"] * 2
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert "HEALTHCHECK" in text and not re.search(r"^(ENV|ARG)\s+\S*(TOKEN|PASSWORD)", text, re.M | re.I)


def test_the_timer_starts_the_service_nightly() -> None:
    """The systemd timer names the service, persists missed runs; the service is a one-shot."""
    timer, service = _systemd("icp-worker.timer"), _systemd("icp-worker.service")
    assert timer["Timer"]["Unit"] == "icp-worker.service" and timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["OnCalendar"].endswith("02:00:00") and service["Service"]["Type"] == "oneshot"
    assert service["Service"]["User"] != "root"


def _literal(value: str) -> bool:
    """True for a value written in: not empty, not a ${VAR} reference, not a URL whose password is one."""
    if "://" in value:
        return any(not password.startswith("${") for password in URL_PASSWORD.findall(value))
    return not REFERENCE.match(value)


def _secret_values(node: Any, key: str = "") -> Iterator[str]:
    """Literal values given to secret-named keys or env entries, anywhere in a YAML document."""
    if isinstance(node, dict):
        if "name" in node and "value" in node and SECRET_NAME.search(str(node["name"])):
            yield str(node["value"])
        for k, v in node.items():
            yield from _secret_values(v, str(k))
    elif isinstance(node, list):
        for item in node:
            yield from _secret_values(item, key)
    elif isinstance(node, str | int) and SECRET_NAME.search(key):
        yield str(node)


def test_no_file_holds_a_secret() -> None:
    """Secrets come from Secrets, env files or the environment: no literal value anywhere in deploy/."""
    manifests = ("compose.yaml", "kubernetes/cronjob.yaml", "kubernetes/deployment.yaml")
    literal = [v for name in manifests for doc in _yaml_file(name) for v in _secret_values(doc) if _literal(v)]
    assert literal == []
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"pat-(na|eu)\d-[0-9a-f-]{20,}", text), path
            assert all(p.startswith("${") for p in URL_PASSWORD.findall(text)), path
            assignments = re.findall(r"^\s*([A-Z_]*(?:TOKEN|PASSWORD|SECRET)[A-Z_]*)=(\S*)", text, re.M)
            assert [a for a in assignments if a[1] and not a[1].startswith("${")] == [], path


def test_the_secret_check_catches_a_literal() -> None:
    """A manifest with a literal token in an env entry would be caught."""
    doc = {"env": [{"name": "HUBSPOT_ACCESS_TOKEN", "value": "pat-na1-literal"},
                   {"name": "ICP_DATABASE_URL", "value": "postgresql://icp:hunter2@db/icp"}],
           "password": "${POSTGRES_PASSWORD}"}
    assert [v for v in _secret_values(doc) if _literal(v)] == ["pat-na1-literal", "postgresql://icp:hunter2@db/icp"]
