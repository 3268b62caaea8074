"""``icp doctor``: check the configured connection end to end and say exactly what to fix."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from worker.cli.common import EXIT_FAILED, Options, console, guarded, print_json, settings_of
from worker.operate.doctor import DoctorReport, run_doctor

MARKS = {"ok": "[green]ok  [/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}


def doctor(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Check config, store, credentials, scopes or permission set, owned fields and clock; exit 1 if any fails.

    It only reads: nothing in the CRM changes.
    """
    options: Options = ctx.obj or Options()
    settings = settings_of(ctx)
    config = str(options.config or os.environ.get("ICP_CONFIG") or "") or None
    report = guarded(lambda: run_doctor(settings, options.connection, config))
    if json_output:
        print_json(report.to_json())
    else:
        _print(report)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


def _print(report: DoctorReport) -> None:
    console.print(f"connection {report.connection} ({report.crm})" + (f", config {report.config}"
                                                                      if report.config else ", no config file"),
                  highlight=False)
    for finding in report.findings:
        console.print(f"{MARKS[finding.status]} {finding.area}: {finding.detail}", highlight=False, soft_wrap=True)
        if finding.fix and finding.status != "ok":
            console.print(f"       fix: {finding.fix}", highlight=False, markup=False, soft_wrap=True)
    failed = sum(f.status == "fail" for f in report.findings)
    warned = sum(f.status == "warn" for f in report.findings)
    verdict = "[green]ready[/]" if not failed else f"[red]{failed} problem(s) to fix[/]"
    console.print(f"{verdict}" + (f", {warned} warning(s)" if warned else ""), highlight=False)
