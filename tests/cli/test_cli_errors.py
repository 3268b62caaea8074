"""No tracebacks reach the user: a bad file, URL, number or folder is one clear line and a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from typer.testing import CliRunner

from worker.cli import app
from worker.store import Run, ScorecardVersionRow, make_engine

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "config" / "starter-scorecard.yaml"
MAPPING = ROOT / "config" / "csv-mapping.example.yaml"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "icp.toml"
    path.write_text(f'database_url = "sqlite:///{tmp_path / "s.db"}"\n[connections.main]\ncrm = "hubspot"\n'
                    'approvers = ["lead@example.com"]\n', encoding="utf-8")
    return path


def _icp(config: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", str(config), *args])
    assert "Traceback" not in result.output and not isinstance(result.exception, (ValueError, OverflowError,
                                                                                  OSError, TypeError))
    return result.exit_code, result.output


def _one_error_line(output: str) -> str:
    errors = [line for line in output.splitlines() if line.startswith("error:") or "Error:" in line]
    assert errors, output
    return errors[0]


def test_propose_a_missing_or_non_utf8_file(config: Path, tmp_path: Path) -> None:
    code, output = _icp(config, "propose", str(tmp_path / "nope.yaml"), "--by", "x")
    assert code != 0 and "nope.yaml" in _one_error_line(output)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: M\xfcller\n".encode("latin-1"))
    code, output = _icp(config, "propose", str(latin), "--by", "x")
    assert code != 0 and "UTF-8" in output


@pytest.mark.parametrize("url", ["garbage://::", "not a url", "mysql://u:secret@h/db"])
def test_a_garbage_database_url(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ICP_DATABASE_URL", url)
    result = runner.invoke(app, ["versions"])
    assert result.exit_code == 2 and "ICP_DATABASE_URL" in result.output and "Traceback" not in result.output
    assert "secret" not in result.output


@pytest.mark.parametrize("command", [["approve", "99999999999999999999", "--by", "lead@example.com"],
                                     ["reject", "99999999999999999999", "--by", "lead@example.com"],
                                     ["versions", "show", "99999999999999999999"],
                                     ["diff", "1", "99999999999999999999"],
                                     ["rollback", "99999999999999999999", "--by", "lead@example.com"]])
def test_a_version_number_out_of_range(config: Path, command: list[str]) -> None:
    code, output = _icp(config, *command)
    assert code == 2 and "2147483647" in output


def test_score_file_with_a_missing_input(config: Path, tmp_path: Path) -> None:
    code, output = _icp(config, "score-file", str(tmp_path / "missing.csv"), "--mapping", str(MAPPING),
                        "--output", str(tmp_path / "out.csv"))
    assert code == 2 and "missing.csv does not exist" in _one_error_line(output)


def _stored(config: Path) -> tuple[int, int]:
    engine = make_engine(f"sqlite:///{config.parent / 's.db'}")
    try:
        with Session(engine) as session:
            versions = session.execute(select(func.count()).select_from(ScorecardVersionRow)).scalar_one()
            runs = session.execute(select(func.count()).select_from(Run)).scalar_one()
        return int(versions), int(runs)
    finally:
        engine.dispose()


@pytest.mark.parametrize("command", [["refine", "--output", "{missing}/brief.html"],
                                     ["brief", "1", "--output", "{missing}/brief.html"],
                                     ["report", "--output", "{missing}/report.html"],
                                     ["score-file", "{input}", "--mapping", str(MAPPING), "--output",
                                      "{missing}/scored.csv"]])
def test_an_output_into_a_missing_folder_is_refused_before_anything_is_stored(config: Path, tmp_path: Path,
                                                                              command: list[str]) -> None:
    """Refused up front: refine stores no version or run it would store again on a retry."""
    assert _icp(config, "propose", str(STARTER), "--by", "x")[0] == 0
    before = _stored(config)
    data = tmp_path / "accounts.csv"
    data.write_text("Company ID,Industry\n1,Software\n", encoding="utf-8")
    args = [a.format(missing=tmp_path / "no" / "such", input=data) for a in command]
    code, output = _icp(config, *args)
    assert code == 2 and "does not exist" in _one_error_line(output)
    assert _stored(config) == before
