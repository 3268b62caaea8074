"""The root ``icp`` application and the run / setup / sandbox commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.table import Table

from worker.cli import governance, monitoring, onboarding, operations, refinement, web
from worker.cli.common import EXIT_FAILED, Options, console, context_of, guarded, icp_command, print_json
from worker.context import Context
from worker.logs import configure_logging
from worker.operate.cycle import FAILED, OK, CycleSummary

app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                  help="ICP Worker: keeps your Ideal Customer Profile honest against HubSpot or Salesforce.")
sandbox_app = typer.Typer(no_args_is_help=True, help="The built-in sandbox CRM.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks that print figures (speed and memory).")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(bench_app, name="bench")
governance.register(app)
operations.register(app)
monitoring.register(app)
refinement.register(app)
web.register(app)
onboarding.register(app)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Config file (default: $ICP_CONFIG).")] = None,
    connection: Annotated[str | None, typer.Option("--connection", help="Which configured CRM connection.")] = None,
    log_format: Annotated[str | None, typer.Option("--log-format", help="auto, json or console.")] = None,
) -> None:
    """ICP Worker command line."""
    if log_format not in (None, "auto", "json", "console"):
        raise typer.BadParameter(f"{log_format!r}: use auto, json or console", param_hint="--log-format")
    configure_logging(log_format or "auto")  # type: ignore[arg-type]
    ctx.obj = Options(config=config, connection=connection, log_format=log_format)


@app.command()
def setup(ctx: typer.Context) -> None:
    """Create the CRM fields the worker owns (idempotent)."""
    context = context_of(ctx)
    owned = guarded(lambda: context.mapping.owned)
    assert owned is not None
    connector = guarded(context.connector)
    try:
        created = guarded(lambda: connector.setup_fields(context.mapping.setup_specs()))
    finally:
        connector.close()
    console.print(f"created: {', '.join(created)}" if created else "all owned fields already exist")
    console.print(f"check the whole connection with `{icp_command(ctx)} doctor`", highlight=False, soft_wrap=True)


def print_summary(summary: CycleSummary) -> None:
    """A readable summary of a cycle."""
    colour = {OK: "green", FAILED: "red"}.get(summary.status, "yellow")
    console.print(f"run {summary.run_id} [{colour}]{summary.status}[/] in {summary.duration_seconds}s"
                  + (f" - {summary.message}" if summary.message else ""), highlight=False)
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_row("pulled", ", ".join(f"{k} {v}" for k, v in summary.pulled.items()) or "-")
    if any(summary.quarantined.values()):
        table.add_row("quarantined", ", ".join(f"{k} {v}" for k, v in summary.quarantined.items() if v))
    table.add_row("scorecard", summary.version or "none approved")
    table.add_row("scored by tier", ", ".join(f"{k} {v}" for k, v in summary.scored_by_tier.items()) or "-")
    table.add_row("records written", f"{summary.written} ({summary.unchanged} unchanged, "
                                     f"{summary.write_failures} failed)")
    table.add_row("tasks created", str(summary.tasks_created))
    table.add_row("API calls", f"{summary.api_calls_total}: " + ", ".join(
        f"{k} x{v}" for k, v in summary.api_calls.items()))
    console.print(table)


@app.command()
def run(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON summary object.")] = False,
    once: Annotated[bool, typer.Option("--once", help="Run one cycle and exit (what `run` always does; "
                                                      "for cron and CronJobs).")] = False,
    refine: Annotated[bool, typer.Option("--refine/--no-refine", help="After a good cycle, refine when the "
                                         "review cadence is due (as the scheduled worker does).")] = True,
) -> None:
    """Run the nightly cycle once: sync, score with the approved version, write back what changed."""
    from worker.operate.refine_step import OFF, RefineReport, describe, refine_after_cycle
    from worker.operate.scheduler import SKIPPED, run_locked_cycle, stop_on_signals

    del once
    context = context_of(ctx)
    reports: list[RefineReport] = []

    def after(c: Context) -> None:
        reports.append(refine_after_cycle(c, icp_command(ctx), review_page(c)))

    with stop_on_signals() as stop:
        summary = guarded(lambda: run_locked_cycle(context, stop=stop, after=after if refine else None))
    if summary.status != SKIPPED:
        summary.refine = (reports[-1] if reports else RefineReport(OFF if not refine else "not run")).to_json()
    if json_output:
        print_json(summary.to_json())
    elif summary.status == SKIPPED:
        console.print(f"run skipped: {summary.message}", highlight=False)
    else:
        print_summary(summary)
        for line in describe(reports[-1]) if reports else []:
            console.print(line, highlight=False, soft_wrap=True)
    if summary.status == FAILED:
        raise typer.Exit(EXIT_FAILED)


def review_page(context: Context) -> Callable[[int], str | None]:
    """The review page of a version."""
    return lambda version: context.settings.proposal_url(context.name, version)


@app.command()
def demo(
    ctx: typer.Context,
    accounts: Annotated[int, typer.Option(help="Accounts in the sandbox portal.")] = 2000,
    seed: Annotated[int, typer.Option(help="Sandbox data seed.")] = 7,
    folder: Annotated[Path, typer.Option("--dir", help="Folder the demo leaves its config and SQLite store in.")]
    = Path("icp-demo"),
    verbose: Annotated[bool, typer.Option("--verbose", help="Show the run's log events too.")] = False,
    crm: Annotated[str, typer.Option(help="Which sandbox CRM: hubspot or salesforce.")] = "hubspot",
) -> None:
    """The whole nightly cycle against the built-in sandbox CRM, no credentials needed; then what to try next."""
    from worker.operate.demo import DemoCrm, run_demo

    if crm not in ("hubspot", "salesforce"):
        raise typer.BadParameter(f"{crm!r}: choose hubspot or salesforce", param_hint="--crm")
    commands = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    status = guarded(lambda: run_demo(accounts=accounts, seed=seed, folder=folder, console=console, verbose=verbose,
                                      crm=cast(DemoCrm, crm), available=commands))
    if status != OK:
        raise typer.Exit(EXIT_FAILED)


@sandbox_app.command("serve")
def sandbox_serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8765,
    seed: Annotated[int, typer.Option(help="Data seed.")] = 7,
    accounts: Annotated[int, typer.Option(help="Accounts to generate.")] = 2000,
    crm: Annotated[str, typer.Option(help="Which CRM to emulate.")] = "hubspot",
    rate_limit: Annotated[int | None, typer.Option(
        help="Requests per 10 s (HubSpot; default 100, the documented Free/Starter limit; 0 switches it off).")]
    = None,
    search_per_second: Annotated[int | None, typer.Option(
        help="Search requests per second (HubSpot; default 5; 0 switches it off).")] = None,
    daily: Annotated[int | None, typer.Option(
        help="Requests per day (default 250,000 HubSpot, 100,000 Salesforce; 0 switches it off).")] = None,
) -> None:
    """Serve the sandbox CRM in the foreground until interrupted, enforcing the CRM's documented rate limits."""
    from sandbox.cli import DEFAULT_LIMITS, Limits, serve

    if crm not in DEFAULT_LIMITS:
        raise typer.BadParameter(f"{crm!r}: choose hubspot or salesforce", param_hint="--crm")
    base = DEFAULT_LIMITS[crm]
    limits = Limits(*(given or None if given is not None else default for given, default in (
        (rate_limit, base.per_10s), (daily, base.daily), (search_per_second, base.search_per_second))))
    serve(crm=crm, port=port, seed=seed, accounts=accounts, limits=limits)


@bench_app.command("scoring")
def bench_scoring(
    accounts: Annotated[int, typer.Option(help="Accounts to score.")] = 1_000_000,
) -> None:
    """Vectorised scoring speed and memory on generated accounts (prints figures)."""
    from worker.bench.scoring import scoring_benchmark

    scoring_benchmark(accounts, console)


@bench_app.command("refine")
def bench_refine(
    deals: Annotated[int, typer.Option(help="Closed deals to analyse.")] = 100_000,
    quality: Annotated[bool, typer.Option("--quality", help="Run the quality battery of generated worlds.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Quality battery as JSON on stdout.")] = False,
    seeds: Annotated[int, typer.Option(help="Seeds of the noise-only world in the quality battery.")] = 20,
    world_seeds: Annotated[int, typer.Option(help="Seeds of each planted world in the quality battery (accuracy "
                                             "is judged on their mean).")] = 3,
) -> None:
    """Refinement speed on generated closed deals, or with --quality the accuracy battery (prints figures)."""
    from worker.bench.refine import main as refine_benchmark
    from worker.bench.refine import quality_main

    raise typer.Exit(quality_main(json_output, seeds, world_seeds) if quality else refine_benchmark([str(deals)]))


@bench_app.command("pages")
def bench_pages(
    accounts: Annotated[int, typer.Option(help="Accounts in the generated store.")] = 100_000,
    repeat: Annotated[int, typer.Option(help="Renders of each page.")] = 20,
) -> None:
    """How long each review page takes to render with a large store (prints figures)."""
    from worker.bench.pages import pages_benchmark

    pages_benchmark(accounts, repeat, console)


@bench_app.command("cycle")
def bench_cycle(
    crm: Annotated[str, typer.Option(help="Which sandbox CRM: hubspot or salesforce.")] = "hubspot",
    accounts: Annotated[int, typer.Option(help="Companies in the generated sandbox portal.")] = 10_000,
    changed: Annotated[float, typer.Option(help="Share of companies changed before the incremental cycle.")] = 0.02,
    rate_limit: Annotated[int | None, typer.Option(
        help="Requests per 10 s the sandbox enforces (HubSpot; search then 5/s); default: no limit.")] = None,
    store: Annotated[str | None, typer.Option(help="Store URL (default: a SQLite file in a temporary folder).")]
    = None,
    plain: Annotated[bool, typer.Option(help="Also measure the plain approach side by side.")] = True,
    json_output: Annotated[bool, typer.Option("--json", help="Print the figures as one JSON document.")] = False,
) -> None:
    """Whole nightly cycles against a generated portal: API calls against the minimum, time by phase, memory."""
    from rich.console import Console

    from worker.bench.cycle import BenchOptions, cycle_benchmark

    if crm not in ("hubspot", "salesforce"):
        raise typer.BadParameter(f"{crm!r}: choose hubspot or salesforce", param_hint="--crm")
    if not 0 <= changed <= 1:
        raise typer.BadParameter("a share between 0 and 1", param_hint="--changed")
    out = Console(stderr=True) if json_output else console
    figures = cycle_benchmark(BenchOptions(crm, accounts, changed, rate_limit or None, store, plain=plain), out)
    if json_output:
        print_json(figures)
    if not all(check["passed"] for check in figures["targets"]):
        raise typer.Exit(EXIT_FAILED)


def main() -> None:
    """Console-script entry point."""
    app()
