"""Scorecard version commands: versions, propose, approve, reject, rollback."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from worker.cli.common import console, context_of, guarded, now, print_json
from worker.govern.approval import approve_version
from worker.score.scorecard import load_scorecard
from worker.score.scoring import preview_change


def register(app: typer.Typer) -> None:
    """Add the governance commands to the root app."""
    app.command("versions")(versions)
    app.command("propose")(propose)
    app.command("approve")(approve)
    app.command("reject")(reject)
    app.command("rollback")(rollback)


def versions(ctx: typer.Context,
             json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List scorecard versions with their status and who decided."""
    context = context_of(ctx)
    rows = context.versions.list()
    if json_output:
        print_json([{"version": v.version, "status": v.status, "name": v.name, "kind": v.kind,
                     "created_by": v.created_by, "decided_by": v.decided_by, "decided_at": v.decided_at,
                     "note": v.decision_note} for v in rows])
        return
    table = Table("version", "status", "name", "kind", "decided by", "decided at", "note")
    for v in rows:
        table.add_row(v.label, v.status, v.name, v.kind, v.decided_by or "", str(v.decided_at or ""),
                      v.decision_note or "")
    console.print(table)


def propose(ctx: typer.Context, scorecard: Annotated[Path, typer.Argument(help="Scorecard YAML file.")],
            by: Annotated[str, typer.Option(help="Who proposes it.")]) -> None:
    """Store a scorecard YAML (for example a hand-written hypothesis) as a proposed version."""
    context = context_of(ctx)
    card = guarded(lambda: load_scorecard(scorecard))
    info = guarded(lambda: context.versions.create(card, by=by, now=now()))
    console.print(f"stored {info.label} ({info.kind}) as proposed")


def approve(
    ctx: typer.Context,
    version: Annotated[int, typer.Argument(help="Version number.")],
    by: Annotated[str, typer.Option(help="The approver, as named in the config.")],
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
    accept_risks: Annotated[bool, typer.Option("--accept-risks", help="Accept the version's listed risks.")] = False,
) -> None:
    """Approve a version: the next nightly run rescores every account with it."""
    context = context_of(ctx)
    info = guarded(lambda: approve_version(context.versions, version, by=by, now=now(), note=note,
                                                     accept_risks=accept_risks))
    console.print(f"{info.label} approved by {info.decided_by}; the next run rescores every account with it")
    print_preview(preview_change(context.engine, context.name, info))


def print_preview(moves: Counter[tuple[str | None, str]]) -> None:
    """What the next run will change: accounts moving between tiers."""
    total = sum(moves.values())
    changing = sum(n for (old, new), n in moves.items() if old != new)
    console.print(f"next run: {changing} of {total} stored accounts change tier")
    table = Table("from tier", "to tier", "accounts")
    for (old, new), count in sorted(moves.items(), key=lambda m: (-m[1], str(m[0][0]), m[0][1])):
        if old != new:
            table.add_row(old or "(not scored yet)", new, str(count))
    if changing:
        console.print(table)


def reject(
    ctx: typer.Context,
    version: Annotated[int, typer.Argument(help="Version number.")],
    by: Annotated[str, typer.Option(help="The approver, as named in the config.")],
    note: Annotated[str, typer.Option(help="Why it is rejected.")],
) -> None:
    """Reject a proposed version, with the reason."""
    context = context_of(ctx)
    info = guarded(lambda: context.versions.reject(version, by=by, now=now(), note=note))
    console.print(f"{info.label} rejected by {info.decided_by}")


def rollback(
    ctx: typer.Context,
    version: Annotated[int, typer.Argument(help="The earlier version to put back in force.")],
    by: Annotated[str, typer.Option(help="The approver, as named in the config.")],
    note: Annotated[str, typer.Option(help="Why.")],
    accept_risks: Annotated[bool, typer.Option("--accept-risks", help="Accept the version's listed risks.")] = False,
) -> None:
    """Roll back: approve an earlier version again, with the same checks."""
    approve(ctx, version, by, note, accept_risks)
