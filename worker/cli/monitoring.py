"""Monitoring commands: status (version, runs, figures by tier) and report (the same as a page with charts)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from worker.cli.common import EXIT_USAGE, console, context_of, fail, guarded, print_json
from worker.cli.outputs import checked_output, write_output
from worker.context import Context
from worker.refine.text import percent
from worker.report import FORMATS, ReportSettings, render_report, status_data

DEFAULT_OUTPUT = "icp-report"


def register(app: typer.Typer) -> None:
    """Add the monitoring commands to the root app."""
    app.command("status")(status)
    app.command("report")(report)


def _data(context: Context) -> dict[str, Any]:
    settings = ReportSettings(cadence_days=context.config.review.cadence_days)
    return guarded(lambda: status_data(context.engine, context.name, settings))


def status(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The version in force and its age, the last runs, drift, and the measured figures by tier."""
    data = _data(context_of(ctx))
    if json_output:
        print_json(data)
        return
    _print_version(data)
    _print_drift(data)
    _print_latest(data)
    _print_runs(data)


def report(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="html (one self-contained page with charts) or md.")] = "html",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write "
                                                "(default: icp-report.html or icp-report.md).")] = None,
) -> None:
    """Write the status over time as a report: close rate by tier, tier mix and PSI charts, runs."""
    if fmt not in FORMATS:
        fail(f"--format {fmt!r}: use one of {', '.join(FORMATS)}", EXIT_USAGE)
    target = checked_output(output or Path(f"{DEFAULT_OUTPUT}.{fmt}"))
    data = _data(context_of(ctx))
    write_output(target, render_report(data, fmt))  # type: ignore[arg-type]
    console.print(f"report written to {target}", highlight=False)


def _print_version(data: dict[str, Any]) -> None:
    version = data["version"]
    if version is None:
        console.print("version in force: [yellow]none approved[/]")
        return
    due = " [yellow](review due)[/]" if version["review_due"] else ""
    age = version["age_days"]
    console.print(f"version in force: {version['label']} {version['name']} ({version['kind']}), "
                  f"{age if age is not None else '?'} days old of a {version['cadence_days']}-day cadence{due}",
                  highlight=False)


def _print_drift(data: dict[str, Any]) -> None:
    drift = data["drift"]
    if drift is None:
        console.print("drift: not assessed yet")
        return
    colour = "red" if drift.get("alarm") else ("yellow" if drift.get("stale") else "green")
    console.print(f"drift: [{colour}]{drift.get('headline', '')}[/]", highlight=False)
    for reason in drift.get("reasons", []):
        console.print(f"  - {reason}", highlight=False)


def _print_latest(data: dict[str, Any]) -> None:
    if not data["measurements"]:
        console.print("measurements: none yet")
        return
    latest = data["measurements"][-1]
    table = Table("tier", "accounts", "open deals", "closed", "close rate", "median cycle days", "churn rate",
                  title=f"latest measurement ({latest['at']})", title_justify="left")
    for tier in data["tiers"]:
        f = latest["by_tier"].get(tier)
        if f is None:
            continue
        cycle = f.get("median_cycle_days")
        table.add_row(tier, str(f.get("accounts", "-")), str(f.get("open_deals", "-")), str(f.get("closed", "-")),
                      percent(f.get("close_rate")), f"{cycle:.0f}" if cycle is not None else "n/a",
                      percent(f.get("churn_rate")))
    console.print(table)


def _print_runs(data: dict[str, Any]) -> None:
    if not data["runs"]:
        console.print("runs: none yet")
        return
    table = Table("started", "kind", "status", "seconds", "written", "message", title="last runs",
                  title_justify="left")
    for run in data["runs"]:
        table.add_row(str(run["started_at"]), run["kind"], run["status"], str(run["duration_seconds"] or "-"),
                      str(run["written"] if run["written"] is not None else "-"), run["message"] or "")
    console.print(table)
