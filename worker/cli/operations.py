"""Operations commands: worker (the long-running scheduler) and healthcheck."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from worker.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    Options,
    console,
    err_console,
    fail,
    guarded,
    now,
    print_json,
    settings_of,
)
from worker.operate.health import MAX_PARTIAL, HealthReport, check_health
from worker.operate.scheduler import serve

ConnectionOption = Annotated[str | None, typer.Option("--connection", help="Only this configured connection.")]


def register(app: typer.Typer) -> None:
    """Add the operations commands to the root app."""
    app.command("worker")(worker)
    app.command("healthcheck")(healthcheck)
    app.command("selftest")(selftest)


def _connections(ctx: typer.Context, connection: str | None) -> list[str] | None:
    options: Options = ctx.obj or Options()
    name = connection or options.connection
    return None if name is None else [name]


def worker(ctx: typer.Context, connection: ConnectionOption = None) -> None:
    """Run every connection on its schedule until SIGTERM or SIGINT (the long-running worker)."""
    settings = settings_of(ctx)
    guarded(lambda: serve(settings, _connections(ctx, connection)))


def healthcheck(
    ctx: typer.Context,
    connection: ConnectionOption = None,
    max_age_hours: Annotated[float | None, typer.Option(
        "--max-age-hours", min=0.1, help="How old the last cycle may be (default: from the schedule; "
                                         "26 hours plus the misfire grace for a nightly one).")] = None,
    store_only: Annotated[bool, typer.Option("--store-only", help="Only check that the store answers "
                                                                  "(for liveness probes).")] = False,
    max_partial: Annotated[float, typer.Option(
        "--max-partial", min=0.0, max=1.0, help="The share of a partial cycle's records that may fail, be held "
                                                "back or be quarantined before it is unhealthy.")] = MAX_PARTIAL,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Exit 1 if the store is unreachable, a connection's last run failed (or was partial beyond --max-partial, or
    found no account), no cycle ran in the window, or the run lock is held by a worker that is not alive."""
    settings = settings_of(ctx)
    names = _connections(ctx, connection)
    max_age = timedelta(hours=max_age_hours) if max_age_hours is not None else None
    report = guarded(lambda: check_health(settings, now(), names, max_age, store_only, max_partial))
    print_json(report.to_json()) if json_output else _print_report(report)
    if not report.healthy:
        raise typer.Exit(EXIT_FAILED)


def _print_report(report: HealthReport) -> None:
    colour = "green" if report.store == "ok" else "red"
    console.print(f"store: [{colour}]{report.store}[/]", highlight=False)
    for health in report.connections:
        verdict = "[green]healthy[/]" if health.healthy else "[red]unhealthy[/]"
        last = health.last_cycle_at.isoformat() if health.last_cycle_at else "never"
        console.print(f"{health.connection}: {verdict} (last cycle {last}, window {health.window_hours} h)",
                      highlight=False)
        for problem in health.problems:
            console.print(f"  - {problem}", highlight=False)


def selftest(
    crash: Annotated[int, typer.Option("--crash", min=1, max=500, help="Trials: each SIGKILLs the worker once, at "
                                                                      "points spread over every phase.")] = 14,
    faults: Annotated[bool, typer.Option("--faults/--no-faults", help="Also inject one fault kind per trial "
                                                                       "(429s, quota, 5xx, timeouts, broken bodies, "
                                                                       "207s, expired sessions).")] = False,
    crm: Annotated[list[str] | None, typer.Option("--crm", help="hubspot and/or salesforce (default: both).")] = None,
    store: Annotated[list[str] | None, typer.Option("--store", help="sqlite and/or postgresql (default: both "
                                                                     "when a PostgreSQL URL is given, else "
                                                                     "sqlite).")] = None,
    postgres_url: Annotated[str | None, typer.Option("--postgres-url", envvar="ICP_SELFTEST_POSTGRES_URL",
                                                     help="A PostgreSQL server for the postgresql trials (a schema "
                                                          "per trial, dropped after).")] = None,
    accounts: Annotated[int, typer.Option(min=20, max=5000, help="Accounts in each seeded portal.")] = 150,
    seed: Annotated[int, typer.Option(help="Seed of the portals and of the kill points.")] = 7,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Crash and fault self-test against the sandbox: exit 1 unless every trial recovered with nothing lost,
    duplicated or wrong."""
    import tempfile
    from pathlib import Path

    from worker.logs import configure_logging
    from worker.operate.selftest import ROWS, plan, run_selftest

    crms = crm or ["hubspot", "salesforce"]
    stores = store or (["sqlite", "postgresql"] if postgres_url else ["sqlite"])
    for name in crms:
        if name not in ("hubspot", "salesforce"):
            fail(f"--crm {name!r}: use hubspot or salesforce", EXIT_USAGE)
    for name in stores:
        if name not in ("sqlite", "postgresql"):
            fail(f"--store {name!r}: use sqlite or postgresql", EXIT_USAGE)
    if "postgresql" in stores and not postgres_url:
        fail("--store postgresql needs --postgres-url (or ICP_SELFTEST_POSTGRES_URL)", EXIT_USAGE)
    configure_logging("json", stream=open(os.devnull, "w"))  # noqa: SIM115 - the trials' own logs are noise here
    trials = plan(crash, faults, crms, stores, seed)

    def progress(result: Any) -> None:
        t = result.trial
        err_console.print(f"trial {t.number}/{len(trials)} {t.crm}/{t.store} {t.phase} {t.fault or 'no fault'}: "
                          f"{'recovered' if result.recovered else 'NOT recovered'}"
                          + (f" ({'; '.join(result.notes)})" if result.notes else ""), highlight=False, soft_wrap=True)

    with tempfile.TemporaryDirectory(prefix="icp-selftest-") as folder:
        report = run_selftest(trials, Path(folder), postgres_url, accounts, progress)
    if json_output:
        print_json(report.to_json())
    else:
        combos = report.combos()
        table = Table("", "all", *(f"{crm}/{store}" for crm, store in combos), title="icp selftest")
        columns = [report.totals(), *(report.totals(crm, store) for crm, store in combos)]
        for row in ROWS:
            cells = []
            for column in columns:
                value = column[row]
                bad = row not in ("trials", "recovered") and value or row == "recovered" and value < column["trials"]
                cells.append(f"[red]{value}[/]" if bad else str(value))
            table.add_row(row, *cells)
        console.print(table)
    if not report.passed:
        raise typer.Exit(EXIT_FAILED)
