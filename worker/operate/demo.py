"""The demo: the whole nightly cycle against the built-in sandbox CRM, with no credentials.

It starts the sandbox, creates the owned fields, approves the starter scorecard as
version 1 on behalf of a clearly labelled demo approver, runs the cycle, shows three
accounts as a rep sees them in the CRM (read back through the sandbox's API), and
runs the cycle again to show that an unchanged portal costs no writes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
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
from worker.score.scorecard import load_scorecard
from worker.settings import ConnectionConfig, Settings, load_settings
from worker.store import AccountScore, make_engine

DEMO_APPROVER = "demo-approver@sandbox.invalid"
DEMO_TOKEN = "sandbox-demo-token"
DemoCrm = Literal["hubspot", "salesforce"]
DEMO_NOTE = ("DEMO ONLY: approved automatically on behalf of a demo approver so the sandbox cycle can run. "
             "Real approvals are made by a named leader with `icp approve`.")


def demo_settings(database: Path, crm: DemoCrm = "hubspot") -> Settings:
    """Settings for the demo connection: a fresh SQLite file, the demo approver, the default mapping."""
    base = load_settings(overrides={})
    connection = ConnectionConfig(crm=crm, approvers=[DEMO_APPROVER])
    return base.model_copy(update={"database_url": f"sqlite:///{database}", "connections": {"demo": connection}})


def _print_cycle(console: Console, title: str, summary: CycleSummary) -> None:
    console.rule(title)
    colour = "green" if summary.status == OK else "red"
    console.print(f"status [{colour}]{summary.status}[/] in {summary.duration_seconds}s"
                  + (f" - {summary.message}" if summary.message else ""), highlight=False)
    console.print("records pulled: " + ", ".join(f"{k} {v:,}" for k, v in summary.pulled.items()))
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


def run_demo(accounts: int, seed: int, database: Path, console: Console, verbose: bool = False,
             crm: DemoCrm = "hubspot") -> str:
    """Run the demo; return the status of the second cycle. Logs show warnings only unless ``verbose``."""
    configure_logging("console", level=logging.INFO if verbose else logging.WARNING)
    database.unlink(missing_ok=True)
    settings = demo_settings(database, crm)
    ctx = Context.open(settings, "demo", make_engine(settings.database_url))
    kind, things, place = (("account", "fields", "org") if crm == "salesforce" else
                           ("company", "properties", "portal"))
    with _sandbox(crm, seed, accounts, console) as (connector, url):
        owned = ctx.mapping.owned
        assert owned is not None
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
    console.print(f"state left in {database} (SQLite). Try: icp --help")
    return second.status if first.status == OK else first.status
