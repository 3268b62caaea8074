"""The demo: the whole nightly cycle against the built-in sandbox CRM, with no credentials.

It writes a config (connection ``demo``, its approver, the mapping and starter scorecard) into a
folder beside its SQLite store, starts the sandbox, creates the owned fields, approves the starter
scorecard as version 1 on behalf of a clearly labelled demo approver, runs the cycle, shows three
accounts as a rep sees them in the CRM (read back through the sandbox's API), runs the cycle again
to show that an unchanged portal costs no writes, and ends with the next commands, which work
against that config exactly as printed.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import secrets
import shlex
import socket
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rich.console import Console
from rich.table import Table

from connectors.base import Connector
from connectors.hubspot import HubSpotConnector, HubSpotSettings
from sandbox import start_hubspot_sandbox, start_salesforce_sandbox
from worker.context import Context
from worker.govern.approval import approve_version
from worker.logs import configure_logging
from worker.operate.cycle import OK, CycleSummary, run_cycle, utcnow
from worker.operate.init import CONFIG_NAME, ConfigDraft, write_config
from worker.score.scorecard import load_scorecard
from worker.settings import load_settings
from worker.store import AccountScore, make_engine

DEMO_APPROVER = "demo-approver@sandbox.invalid"
DEMO_TOKEN = "sandbox-demo-token"
DEMO_CONNECTION = "demo"
DEMO_STORE = "icp.db"
DEMO_PASSWORD = "demo-password.txt"
DEFAULT_PORT = 8080
DemoCrm = Literal["hubspot", "salesforce"]
DEMO_NOTE = ("DEMO ONLY: approved automatically on behalf of a demo approver so the sandbox cycle can run. "
             "Real approvals are made by a named leader with `icp approve`.")


@dataclass(frozen=True)
class NextStep:
    """A command the demo suggests next, and what it shows."""

    command: str
    purpose: str
    serves: bool = False


def demo_draft(crm: DemoCrm, port: int = DEFAULT_PORT) -> ConfigDraft:
    """The demo's config: connection ``demo``, its labelled approver, a SQLite store beside the config."""
    return ConfigDraft(
        connection=DEMO_CONNECTION, crm=crm, approvers=(DEMO_APPROVER,), database_url=f"sqlite:///{DEMO_STORE}",
        public_url=None if port == DEFAULT_PORT else f"http://127.0.0.1:{port}",
        note=("Written by `icp demo`: the connection it ran against the built-in sandbox CRM, which stopped when",
              "the demo ended. Its store holds everything the demo synced, scored and approved, so `icp status`,",
              "`icp refine` and the other commands work against it. For your own CRM, write a config with",
              "`icp init`."))


def next_steps(config: Path, available: Collection[str], port: int = DEFAULT_PORT,
               password_file: Path | None = None) -> list[NextStep]:
    """The commands to try next against the demo's config (only those this build has)."""
    icp = f"icp --config {shlex.quote(str(config))}"
    sign_in = (f"; sign in as {DEMO_APPROVER} with the password in {password_file}" if password_file else "")
    serve = f"{icp} serve" + ("" if port == DEFAULT_PORT else f" --port {port}")
    steps = [NextStep(f"{icp} status", "the version in force, the runs and the figures measured by tier"),
             NextStep(f"{icp} refine", "learn from the sandbox's won, lost and churned accounts: a proposed version "
                                       "with its evidence, and the brief for the approver"),
             NextStep(serve, f"the review pages at http://127.0.0.1:{port}{sign_in} (Ctrl-C stops it)", serves=True)]
    return [s for s in steps if s.command.split()[3] in available]


def serve_port(preferred: int = DEFAULT_PORT) -> int:
    """The review pages' default port when it is free here, else a free one (so the printed command works)."""
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise OSError("no free port on 127.0.0.1")


def demo_account(ctx: Context, folder: Path) -> Path | None:
    """A local account for the demo approver on the review pages, its password in a file only its owner reads."""
    if importlib.util.find_spec("worker.web.accounts") is None:
        return None
    from worker.web.accounts import Accounts

    password = secrets.token_urlsafe(15)
    Accounts(ctx.engine, utcnow).add(DEMO_APPROVER, password)
    target = folder / DEMO_PASSWORD
    target.touch(mode=0o600)
    target.chmod(0o600)
    target.write_text(password + "\n", encoding="utf-8")
    return target

def _print_cycle(console: Console, title: str, summary: CycleSummary) -> None:
    console.rule(title)
    colour = "green" if summary.status == OK else "red"
    console.print(f"status [{colour}]{summary.status}[/] in {summary.duration_seconds}s"
                  + (f" - {summary.message}" if summary.message else ""), highlight=False)
    console.print("records pulled: " + ", ".join(f"{k} {v:,}" for k, v in summary.pulled.items()))
    if summary.pulled_unchanged:
        console.print("  of which the worker's own writes, read back but not stored or rescored again: "
                      + ", ".join(f"{k} {v:,}" for k, v in summary.pulled_unchanged.items()))
    if any(summary.quarantined.values()):
        console.print("quarantined: " + ", ".join(f"{k} {v}" for k, v in summary.quarantined.items() if v))
    console.print(f"accounts scored by tier ({summary.version}): "
                  + ", ".join(f"{t} {n:,}" for t, n in summary.scored_by_tier.items()))
    console.print(f"records written: {summary.written:,} (unchanged {summary.unchanged:,}, "
                  f"failed {summary.write_failures})")
    console.print(f"API calls used: {summary.api_calls_total} - "
                  + ", ".join(f"{k} x{v}" for k, v in summary.api_calls.items()), highlight=False)


def _show_accounts(console: Console, ctx: Context, connector: Connector, kind: str) -> None:
    owned = ctx.mapping.owned
    name_field = ctx.mapping.accounts.name or "name"
    assert owned is not None
    from sqlmodel import Session, select

    picks: list[str] = []
    with Session(ctx.engine) as session:
        for tier in ("A", "C", "D"):
            row = session.execute(select(AccountScore.account_id).where(
                AccountScore.connection == ctx.name, AccountScore.tier == tier).order_by(
                AccountScore.account_id).limit(1)).scalar()
            if row:
                picks.append(row)
    console.rule("Three accounts as a rep sees them in the CRM")
    fields = [name_field, owned.score, owned.tier, owned.reasons, owned.version, owned.scored_at]
    for account_id in picks:
        values = connector.read_account(account_id, fields)
        table = Table(show_header=False, title=f"{kind} {account_id}: {values.get(name_field)}", title_justify="left")
        for name in fields[1:]:
            table.add_row(name, str(values.get(name) or ""))
        console.print(table)


@contextmanager
def _sandbox(crm: DemoCrm, seed: int, accounts: int, console: Console) -> Iterator[tuple[Connector, str]]:
    """A running sandbox CRM and a connector for it; yields (connector, its URL)."""
    if crm == "salesforce":
        from connectors.salesforce import Credentials, SalesforceConnector, SalesforceSettings

        console.print(f"starting the sandbox Salesforce org ({accounts:,} accounts, seed {seed}, TLS)...")
        with start_salesforce_sandbox(seed=seed, accounts=accounts) as org:
            credentials = Credentials("client_credentials", client_id=org.credentials.client_id,
                                      client_secret=org.credentials.client_secret)
            connector: Connector = SalesforceConnector(SalesforceSettings(
                credentials, login_url=org.url, ca_bundle=str(org.ca_path), bulk_poll_seconds=1))
            try:
                yield connector, org.url
            finally:
                connector.close()
        return
    console.print(f"starting the sandbox HubSpot portal ({accounts:,} accounts, seed {seed})...")
    with start_hubspot_sandbox(seed=seed, accounts=accounts, token=DEMO_TOKEN) as server:
        connector = HubSpotConnector(HubSpotSettings(access_token=DEMO_TOKEN, base_url=server.url, per_10s=250,
                                                     search_per_second=5))
        try:
            yield connector, server.url
        finally:
            connector.close()


def run_demo(accounts: int, seed: int, folder: Path, console: Console, verbose: bool = False,
             crm: DemoCrm = "hubspot", available: Collection[str] = ()) -> str:
    """Run the demo in ``folder``; return the status of the second cycle. Logs show warnings only unless ``verbose``.

    ``available`` names the ``icp`` commands this build has, so the suggested next steps all exist.
    """
    configure_logging("console", level=logging.INFO if verbose else logging.WARNING)
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in (DEMO_STORE, DEMO_PASSWORD):
        (folder / leftover).unlink(missing_ok=True)
    port = serve_port() if "serve" in available else DEFAULT_PORT
    written = write_config(folder, demo_draft(crm, port), overwrite=True)
    settings = load_settings(written.config)
    settings = settings.model_copy(update={"database_url": f"sqlite:///{(folder / DEMO_STORE).resolve()}"})
    ctx = Context.open(settings, DEMO_CONNECTION, make_engine(settings.database_url))
    kind, things, place = (("account", "fields", "org") if crm == "salesforce" else
                           ("company", "properties", "portal"))
    with _sandbox(crm, seed, accounts, console) as (connector, url):
        created = connector.setup_fields(ctx.mapping.setup_specs())
        console.print(f"sandbox at {url}; setup created {len(created)} {things}: {', '.join(created)}")
        starter = load_scorecard(settings.starter_path(ctx.config))
        proposed = ctx.versions.create(starter, by="icp demo", now=utcnow(), note="starter hypothesis scorecard")
        approved = approve_version(ctx.versions, proposed.version, by=DEMO_APPROVER, now=utcnow(), note=DEMO_NOTE,
                                   accept_risks=True)
        console.print(f"[yellow]{approved.label} '{approved.name}' approved by {DEMO_APPROVER} (demo approver)[/]")
        first = run_cycle(ctx, connector)
        _print_cycle(console, "Nightly cycle 1", first)
        if first.status == OK:
            _show_accounts(console, ctx, connector, kind)
        connector.calls.clear()
        second = run_cycle(ctx, connector)
        _print_cycle(console, f"Nightly cycle 2 (nothing changed in the {place})", second)
    password = demo_account(ctx, folder) if "serve" in available else None
    _print_next(console, next_steps(written.config, available, port, password), folder)
    return second.status if first.status == OK else first.status


def _print_next(console: Console, steps: list[NextStep], folder: Path) -> None:
    console.rule("Next")
    console.print(f"The demo left its config, store, mapping and starter scorecard in {folder}/ ({CONFIG_NAME}, "
                  f"{DEMO_STORE}). Try, as they are:", highlight=False)
    for step in steps:
        console.print(f"  {step.command}", highlight=False, markup=False, soft_wrap=True)
        console.print(f"      {step.purpose}", highlight=False, markup=False)
    if os.environ.get("ICP_DATABASE_URL"):
        console.print("[yellow]ICP_DATABASE_URL is set and wins over the demo config's store: unset it first.[/]")
    console.print("To connect your own HubSpot portal or Salesforce org: icp init", highlight=False)
