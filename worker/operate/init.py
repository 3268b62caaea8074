"""Writing a connection's config: ``icp init`` for a real CRM, and the demo's own config.

The config is a commented TOML file. Beside it go copies of the CRM's default field mapping
and starter scorecard, which the config names by relative paths (taken from the config file's
folder), so the admin edits them in place. Credentials never go in: the config names the
environment variables (or a secrets file) that hold them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from worker.settings import DEFAULT_CONFIG, STARTER_SCORECARDS, ConfigError, load_settings

Crm = Literal["hubspot", "salesforce"]
SalesforceAuth = Literal["client_credentials", "jwt_bearer", "password", "session_id"]
CONFIG_NAME = "icp.toml"
DEFAULT_STORE = "sqlite:///icp-worker.db"
SALESFORCE_SECRETS: dict[str, tuple[tuple[str, str], ...]] = {
    "client_credentials": (("client_id_env", "SALESFORCE_CLIENT_ID"),
                           ("client_secret_env", "SALESFORCE_CLIENT_SECRET")),
    "jwt_bearer": (("client_id_env", "SALESFORCE_CLIENT_ID"), ("username_env", "SALESFORCE_USERNAME"),
                   ("private_key_file_env", "SALESFORCE_PRIVATE_KEY_FILE")),
    "password": (("username_env", "SALESFORCE_USERNAME"), ("password_env", "SALESFORCE_PASSWORD"),
                 ("security_token_env", "SALESFORCE_SECURITY_TOKEN")),
    "session_id": (("session_id_env", "SALESFORCE_SESSION_ID"),),
}
"""Per Salesforce auth mode: the config keys naming the environment variables, and their default names."""


@dataclass(frozen=True)
class ConfigDraft:
    """What ``icp init`` asks for (or takes as flags).

    Attributes:
        connection: The connection's name (letters, digits, - and _).
        crm: ``hubspot`` or ``salesforce``.
        approvers: Who may approve or reject scorecard versions (emails or CRM user ids).
        database_url: The store; a relative SQLite path is taken from the config file's folder.
        token_env: HubSpot: the variable holding the private-app token.
        salesforce_auth: Salesforce: how the worker logs in.
        salesforce_domain: Salesforce: the My Domain prefix (``acme.my``), or ``login`` / ``test``.
        salesforce_env: Salesforce: config key → the variable holding that secret (defaults per auth mode).
        leadership_owner: Who receives the leadership review task (an email of a CRM user).
        public_url: Where people reach the review pages (``icp serve``), when not the default.
        note: Extra comment lines written at the top (the demo says what it is).
    """

    connection: str = "main"
    crm: Crm = "hubspot"
    approvers: tuple[str, ...] = ()
    database_url: str = DEFAULT_STORE
    token_env: str = "HUBSPOT_ACCESS_TOKEN"
    salesforce_auth: SalesforceAuth = "client_credentials"
    salesforce_domain: str = "login"
    salesforce_env: dict[str, str] = field(default_factory=dict)
    leadership_owner: str | None = None
    public_url: str | None = None
    note: tuple[str, ...] = ()

    def secret_variables(self) -> list[str]:
        """The environment variables this connection reads its credentials from."""
        if self.crm == "hubspot":
            return [self.token_env]
        return [self.salesforce_env.get(key, default) for key, default in SALESFORCE_SECRETS[self.salesforce_auth]]


@dataclass(frozen=True)
class WrittenConfig:
    """The files ``write_config`` wrote (and the ones it kept because they existed)."""

    config: Path
    mapping: Path
    starter: Path
    kept: tuple[Path, ...] = ()


def mapping_name(crm: Crm) -> str:
    """The shipped default mapping of a CRM."""
    return f"{crm}-mapping.yaml"


def write_config(folder: Path, draft: ConfigDraft, *, overwrite: bool = False,
                 config_name: str = CONFIG_NAME) -> WrittenConfig:
    """Write the config, the CRM's mapping and its starter scorecard into ``folder``; check it loads.

    An existing config is refused unless ``overwrite``; an existing mapping or starter scorecard is
    kept (it may hold the admin's edits). Raises :class:`ConfigError` naming what is wrong.
    """
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / config_name
    if config.exists() and not overwrite:
        raise ConfigError(f"{config} exists; pass --force to replace it (its mapping and scorecard files are kept)")
    kept = []
    copies = []
    for name in (mapping_name(draft.crm), STARTER_SCORECARDS[draft.crm]):
        target = folder / name
        if target.exists():
            kept.append(target)
        else:
            shutil.copyfile(DEFAULT_CONFIG / name, target)
        copies.append(target)
    config.write_text(render_config(draft), encoding="utf-8")
    load_settings(config)
    return WrittenConfig(config, copies[0], copies[1], tuple(kept))


def _q(value: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML)."""
    return json.dumps(value, ensure_ascii=False)


def _list(values: Sequence[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def render_config(draft: ConfigDraft) -> str:
    """The commented TOML config for ``draft``."""
    name = draft.connection
    lines = [*(f"# {line}" if line else "#" for line in draft.note), *([""] if draft.note else []),
             "# ICP Worker configuration. Use it with `icp --config <this file> <command>` or ICP_CONFIG.",
             "# Relative paths below are taken from this file's folder. Credentials never go here: the config",
             "# names the environment variables (or a secrets file) that hold them.",
             "",
             "# The store. ICP_DATABASE_URL overrides it. SQLite for one machine; PostgreSQL when several workers",
             "# share it, e.g. \"postgresql://icp@db:5432/icp\" (install with pip install 'icp-worker[postgres]').",
             f"database_url = {_q(draft.database_url)}",
             "",
             "# Logs go to standard error: \"auto\" (JSON unless on a terminal), \"json\" or \"console\".",
             "log_format = \"auto\"",
             "",
             *_public_url(draft.public_url),
             f"[connections.{name}]",
             f"crm = {_q(draft.crm)}",
             f"mapping = {_q(mapping_name(draft.crm))}              # which CRM field feeds what; edit it in place",
             f"starter_scorecard = {_q(STARTER_SCORECARDS[draft.crm])}  # the hand-written first hypothesis",
             "# Who may approve or reject scorecard versions (emails or CRM user ids). Nobody else can;",
             "# with nobody named, nothing can ever be approved and nothing is scored.",
             f"approvers = {_list(draft.approvers)}",
             "",
             *(_hubspot(draft) if draft.crm == "hubspot" else _salesforce(draft)),
             "",
             f"[connections.{name}.review]",
             "# Receives the leadership review task of each proposed version (a CRM user's email).",
             f"leadership_owner = {_q(draft.leadership_owner)}" if draft.leadership_owner
             else "# leadership_owner = \"founder@example.com\"",
             "due_days = 7                     # due date of review tasks",
             "cadence_days = 91                # re-review the approved version at least quarterly",
             "",
             f"[connections.{name}.schedule]",
             "cron = \"0 2 * * *\"               # `icp worker` runs the cycle nightly at 02:00",
             "timezone = \"UTC\"",
             ""]
    return "\n".join(lines)


def _public_url(url: str | None) -> list[str]:
    address = _q(url) if url else "\"http://127.0.0.1:8080\""
    return ["# Where people reach the review pages (`icp serve`); links in CRM tasks start with it. Behind a",
            "# reverse proxy this is the proxy's https address. ICP_PUBLIC_URL overrides it.",
            f"{'' if url else '# '}public_url = {address}", ""]


def _hubspot(draft: ConfigDraft) -> list[str]:
    return [f"[connections.{draft.connection}.hubspot]",
            "# The private app's access token is read from this environment variable (or from the first line",
            "# of a token_file). Its scopes: crm.objects.companies.read and .write, crm.objects.deals.read,",
            "# crm.objects.owners.read, crm.schemas.companies.read and .write; `icp doctor` checks them.",
            f"token_env = {_q(draft.token_env)}",
            "# token_file = \"/run/secrets/hubspot_token\"",
            "# base_url = \"https://api.hubapi.com\"   # HUBSPOT_BASE_URL overrides it"]


def _salesforce(draft: ConfigDraft) -> list[str]:
    lines = [f"[connections.{draft.connection}.salesforce]",
             "# How the worker logs in: client_credentials (a connected app with a run-as user), jwt_bearer,",
             "# password (legacy SOAP login, refused from API 65.0) or session_id (tests).",
             f"auth = {_q(draft.salesforce_auth)}",
             "# Your My Domain prefix (\"acme.my\" for https://acme.my.salesforce.com), or \"login\" / \"test\".",
             f"domain = {_q(draft.salesforce_domain)}",
             "# The environment variables holding the credentials (or NAME=value lines in a secrets_file):"]
    for key, default in SALESFORCE_SECRETS[draft.salesforce_auth]:
        lines.append(f"{key} = {_q(draft.salesforce_env.get(key, default))}")
    lines += ["# secrets_file = \"/run/secrets/salesforce.env\"",
              "# The integration user needs the ICP_Worker permission set (deploy/salesforce); `icp doctor` checks it.",
              "permission_set = \"ICP_Worker\""]
    return lines
