"""Operations commands: worker (the long-running scheduler) and healthcheck."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from worker.cli.common import EXIT_FAILED, Options, console, guarded, now, print_json, settings_of
from worker.operate.health import MAX_PARTIAL, HealthReport, check_health
from worker.operate.scheduler import serve

ConnectionOption = Annotated[str | None, typer.Option("--connection", help="Only this configured connection.")]


def register(app: typer.Typer) -> None:
    """Add the operations commands to the root app."""
    app.command("worker")(worker)
    app.command("healthcheck")(healthcheck)


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
