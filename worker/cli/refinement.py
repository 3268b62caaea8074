"""Refinement commands: refine, brief, diff, score-file and import csv."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from worker.cli.common import EXIT_FAILED, MAX_VERSION, console, context_of, err_console, fail, guarded, now, print_json
from worker.cli.outputs import checked_input, checked_output, write_output
from worker.govern.proposals import parse_as_of, read_brief, run_refinement
from worker.ingest.csv_import import CsvImport, load_csv_mapping
from worker.refine.readiness import Readiness
from worker.score.score_file import score_file
from worker.score.scorecard.diff import diff_scorecards

import_app = typer.Typer(no_args_is_help=True, help="Import evidence from files.")


def register(app: typer.Typer) -> None:
    """Add the refinement commands to the root app."""
    app.command("refine")(refine)
    app.command("brief")(brief)
    app.command("diff")(diff)
    app.command("score-file")(score_file_command)
    app.add_typer(import_app, name="import")
    import_app.command("csv")(import_csv)


def refine(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print the machine-readable summary.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Go past failed stop gates; every output is then "
                                                        "marked as a hypothesis.")] = False,
    output: Annotated[Path | None, typer.Option(help="Also write the HTML brief to this file.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", metavar="DATE",
                                              help="End the analysis window on this day (YYYY-MM-DD), for "
                                                   "historical data; default: the config's refine.as_of, "
                                                   "else today.")] = None,
) -> None:
    """Analyse won, lost, retained and churned accounts; store a proposed version and its brief."""
    reference = guarded(lambda: parse_as_of(as_of, "--as-of"))
    if output is not None:
        checked_output(output)
    context = context_of(ctx)
    outcome = guarded(lambda: run_refinement(context, force=force, as_of=reference))
    target = output or Path(f"icp-brief-{outcome.brief_label}.html")
    html = read_brief(context.engine, context.name, outcome.brief_label, "html")
    write_output(target, html or "")
    if json_output:
        print_json(outcome.to_json())
    else:
        analysis = outcome.analysis
        console.print(f"[bold]{analysis.status}[/]: {analysis.headline}", highlight=False)
        left_out = excluded_line(analysis.readiness)
        if left_out:
            console.print(left_out, highlight=False, soft_wrap=True)
        page = context.settings.proposal_url(context.name, outcome.version.version) if outcome.version else ""
        if outcome.version is not None and not outcome.new_version:
            console.print(f"{outcome.version.label} ({outcome.version.status}) already scores exactly like this; "
                          f"nothing new stored. Review page: {page}", highlight=False)
        elif outcome.version is not None:
            console.print(f"stored {outcome.version.label} as proposed; review and approve at {page}", highlight=False)
        console.print(f"brief: {target}")
    if analysis_failed(outcome.analysis.status):
        raise typer.Exit(EXIT_FAILED)


def excluded_line(readiness: Readiness) -> str | None:
    """Why deals were left out of the analysis, in words (``no close date: 448``), or None when none were."""
    counts = {reason: n for reason, n in readiness.excluded_deals.items() if n}
    if not counts:
        return None
    window = f"window {readiness.window_start} to {readiness.window_end}"
    return f"deals left out ({window}): " + ", ".join(f"{reason}: {n}" for reason, n in counts.items())


def analysis_failed(status: str) -> bool:
    """A refinement stopped by its gates exits 1 so schedulers notice; no-lift is a valid answer."""
    return status == "stopped"


def brief(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="Version number (e.g. 3) or a brief label such as run-<id>.")],
    fmt: Annotated[str, typer.Option("--format", help="html or md.")] = "html",
    output: Annotated[Path | None, typer.Option(help="Write to this file instead of standard output.")] = None,
) -> None:
    """The ICP refinement brief of a version, exactly as it was rendered for the approver."""
    if fmt not in ("html", "md"):
        fail("--format must be html or md")
    if output is not None:
        checked_output(output)
    context = context_of(ctx)
    label = f"v{version}" if version.isdigit() else version
    text = read_brief(context.engine, context.name, label, fmt)
    if text is None:
        fail(f"no brief for {label}; briefs exist for versions proposed by `icp refine`")
    if output is None:
        typer.echo(text)
    else:
        write_output(output, text)
        console.print(f"wrote {output}")


def diff(ctx: typer.Context,
         old: Annotated[int, typer.Argument(help="Earlier version.", min=1, max=MAX_VERSION)],
         new: Annotated[int, typer.Argument(help="Later version.", min=1, max=MAX_VERSION)],
         json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """What changed between two versions, criterion by criterion."""
    context = context_of(ctx)
    before, after = guarded(lambda: context.versions.get(old)), guarded(lambda: context.versions.get(new))
    changes = diff_scorecards(before.scorecard, after.scorecard)
    if json_output:
        print_json([c.__dict__ for c in changes])
        return
    if not changes:
        console.print(f"{before.label} and {after.label} score identically")
        return
    table = Table("what", "change", "detail", title=f"{before.label} -> {after.label}")
    for change in changes:
        table.add_row(change.subject, change.kind, change.detail)
    console.print(table)


def score_file_command(
    ctx: typer.Context,
    input_file: Annotated[Path, typer.Argument(help="CSV of accounts to score.")],
    mapping: Annotated[Path, typer.Option(help="CSV mapping file (its accounts section).")],
    output: Annotated[Path, typer.Option(help="CSV to write: id, score, tier, version, reasons.")],
    version: Annotated[int | None, typer.Option(help="Version to score with (default: the one in force).",
                                                min=1, max=MAX_VERSION)] = None,
) -> None:
    """Score accounts from a file against a scorecard version (cells starting = + - @ are made inert)."""
    checked_input(input_file)
    checked_input(mapping, "mapping file")
    checked_output(output)
    context = context_of(ctx)
    columns = guarded(lambda: load_csv_mapping(mapping))
    info = guarded(lambda: context.versions.get(version)) if version else context.versions.in_force()
    if info is None:
        fail("no approved version; name one with --version")
    report = guarded(lambda: score_file(input_file, columns, info.scorecard, info.label, output))
    console.print(f"scored {report.scored} accounts with {info.label}: "
                  + ", ".join(f"{t} {n}" for t, n in report.by_tier.items()) + f"; wrote {output}")
    for problem in report.problems:
        console.print(f"[yellow]skipped[/] {problem}", highlight=False)


def import_csv(
    ctx: typer.Context,
    mapping: Annotated[Path, typer.Option(help="CSV mapping file.")],
    deals: Annotated[Path | None, typer.Option(help="Deals file (or one flat file with account columns).")] = None,
    accounts: Annotated[Path | None, typer.Option(help="Accounts file, joined to deals by the account key.")] = None,
    notes: Annotated[Path | None, typer.Option(help="Evidence notes file.")] = None,
) -> None:
    """Import accounts, deals and evidence notes from CSV files; bad rows are reported and kept aside."""
    if deals is None and accounts is None and notes is None:
        fail("give at least one of --deals, --accounts, --notes")
    context = context_of(ctx)
    columns = guarded(lambda: load_csv_mapping(mapping))
    report = guarded(lambda: CsvImport(context.engine, context.name, columns, uuid.uuid4().hex[:16]).run(
        deals, accounts, notes, now()))
    refused, noted = report.refused, report.noted
    console.print(f"imported {report.accounts} accounts, {report.deals} deals, {report.notes} notes; "
                  f"{len(refused)} row(s) refused" + (f", {len(noted)} noted" if noted else ""), highlight=False)
    for problem in report.problems[:50]:
        console.print(f"[yellow]{'noted' if problem.kept else 'refused'}[/] {problem}", highlight=False)
    if len(report.problems) > 50:
        console.print(f"... and {len(report.problems) - 50} more (see the quarantine table)")
    if report.imported == 0:
        err_console.print("nothing was imported", highlight=False)
        raise typer.Exit(EXIT_FAILED)
