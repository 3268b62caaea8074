"""The code stays type-checked and lint-clean: mypy and ruff run here as they would in CI.

Both tools read their settings from pyproject.toml (``[tool.mypy]``, ``[tool.ruff]``). A failure shows the
tools' own report, so the offending file and line are in the test output.
"""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 300


def _cache_dir(tool: str) -> Path:
    """A cache per checkout, outside it, so repeated runs are incremental and the tree stays clean."""
    key = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"icp-worker-{tool}-cache-{key}"


def _run(tool: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(tool) is None:
        pytest.fail(f"{tool} is not installed; install the test extra: pip install -e '.[test]'")
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=TIMEOUT_S, check=False)


def test_mypy_reports_no_errors() -> None:
    """``mypy`` over worker, connectors and sandbox (the files listed in pyproject.toml) finds nothing."""
    result = _run("mypy", ["--cache-dir", str(_cache_dir("mypy")), "--show-error-codes"])
    assert result.returncode == 0, f"mypy found errors:\n{result.stdout}{result.stderr}"


def test_ruff_reports_no_findings() -> None:
    """``ruff check`` over the whole checkout (rules in pyproject.toml) finds nothing."""
    result = _run("ruff", ["check", "--no-cache", "--output-format", "concise", "."])
    assert result.returncode == 0, f"ruff found problems:\n{result.stdout}{result.stderr}"
