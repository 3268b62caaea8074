"""The README's onboarding examples work as shipped: the commands of "Connecting your CRM" exist with those
options, its `icp init` for scripts writes a config that loads, and the mapping's translation example parses."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from worker.cli import app
from worker.ingest.mapping import FieldRef
from worker.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
runner = CliRunner()


def section(title: str) -> str:
    """The text of a README section, up to the next heading of the same or a higher level."""
    return re.split(r"\n##? ", README.split(f"\n{title}\n", 1)[1], maxsplit=1)[0]


def test_connecting_your_crm_runs_commands_that_exist() -> None:
    """Each `icp` line of the block parses with its options (checked with --help, not run)."""
    block = re.search(r"```bash\n(.*?)```", section("## Connecting your CRM"), re.S)
    assert block is not None
    lines = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines()]
    commands = [shlex.split(line) for line in lines if line.startswith("icp ")]
    assert [c[-1] for c in commands] == ["init", "doctor", "setup", "doctor", "run"]
    for argv in commands:
        result = runner.invoke(app, [*argv[1:], "--help"])
        assert result.exit_code == 0, (argv, result.output)


def test_the_scripted_init_example_writes_a_config_that_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The `icp init ... --no-input` of the README, run as written, in an empty folder."""
    text = " ".join(section("## Connecting your CRM").split())
    example = re.search(r"`(icp init --crm salesforce [^`]*--no-input)`", text)
    assert example is not None
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, shlex.split(example.group(1))[1:])
    assert result.exit_code == 0, result.output
    monkeypatch.delenv("ICP_DATABASE_URL", raising=False)
    settings = load_settings(tmp_path / "icp.toml")
    assert settings.connections["emea"].salesforce.domain == "acme.my"
    assert settings.database_url == "postgresql://icp@db/icp"


def test_the_translation_example_is_a_valid_mapping_entry() -> None:
    """The `values:` example under "Field mapping" is one mapping entry the loader accepts."""
    block = re.search(r"```yaml\n(.*?)```", section("### Field mapping"), re.S)
    assert block is not None
    entry = yaml.safe_load(block.group(1))
    ref = FieldRef.model_validate(entry["industry"])
    assert ref.translate("saas") == "Technology" and ref.translate("Retail") == "Retail"


@pytest.mark.parametrize("crm", ["hubspot", "salesforce"])
def test_the_mappings_commented_translation_works_when_uncommented(crm: str, tmp_path: Path) -> None:
    """Each shipped mapping's commented `values:` example, uncommented in place of the plain line, loads."""
    from worker.ingest.mapping import load_mapping
    from worker.settings import DEFAULT_CONFIG

    lines = (DEFAULT_CONFIG / f"{crm}-mapping.yaml").read_text(encoding="utf-8").splitlines()
    example = next(i for i, line in enumerate(lines) if line.strip().startswith("# industry:"))
    plain = next(i for i, line in enumerate(lines) if line.strip().startswith("industry:"))
    lines[plain] = lines[example].replace("# ", "", 1)
    (tmp_path / "mapping.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert load_mapping(tmp_path / "mapping.yaml").accounts.attributes["industry"].values
