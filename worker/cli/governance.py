"""Scorecard version commands: versions (list, show), history, propose, approve, reject, rollback.

Every decision taken here is recorded with the channel ``cli`` and the operating-system user
running the command beside the ``--by`` name; ``review.cli_approvals = false`` refuses them, so
that approvals go through the signed-in review pages only.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from worker.cli.common import EXIT_USAGE, MAX_VERSION, console, context_of, fail, guarded, now, print_json
from worker.context import Context
from worker.govern.approval import approve_version
from worker.govern.proposals import store_proposal
from worker.score.scorecard import load_scorecard
from worker.score.scoring import preview_change
from worker.score.signoff import Actor, command_line_actor
from worker.score.versions import APPROVED, VersionInfo

versions_app = typer.Typer(help="Scorecard versions: list them, or show one.", invoke_without_command=True)


def register(app: typer.Typer) -> None:
    """Add the governance commands to the root app."""
    app.add_typer(versions_app, name="versions")
    app.command("history")(history)
    app.command("propose")(propose)
    app.command("approve")(approve)
    app.command("reject")(reject)
    app.command("rollback")(rollback)


@versions_app.callback()
def versions(ctx: typer.Context,
             json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List scorecard versions with their status and who decided."""
    if ctx.invoked_subcommand is not None:
        return
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


@versions_app.command("show")
def show(ctx: typer.Context,
         version: Annotated[int, typer.Argument(help="Version number.", min=1, max=MAX_VERSION)],
         yaml: Annotated[bool, typer.Option("--yaml", help="Print the version's scorecard YAML only.")] = False,
         json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """One version: status, who proposed and decided, sign-offs still needed, risks; or its YAML."""
    context = context_of(ctx)
    info = guarded(lambda: context.versions.get(version))
    if yaml:
        typer.echo(info.document, nl=False)
        return
    signed = context.versions.signoffs(version)
    needed = context.versions.policy.outstanding(signed) if info.status in ("proposed", "retired") else ()
    summary = {"version": info.version, "label": info.label, "status": info.status, "name": info.name,
               "kind": info.kind, "created_by": info.created_by, "created_at": info.created_at,
               "decided_by": info.decided_by, "decided_at": info.decided_at, "note": info.decision_note,
               "risks": info.risks(), "signed": [{"by": s.actor, "roles": list(s.roles), "at": s.at,
                                                  "channel": s.channel} for s in signed],
               "still_needed": list(needed), "page": context.settings.proposal_url(context.name, info.version)}
    if json_output:
        print_json(summary)
        return
    table = Table(show_header=False, box=None, pad_edge=False)
    for key in ("label", "status", "name", "kind", "created_by", "created_at", "decided_by", "decided_at", "note"):
        table.add_row(key.replace("_", " "), str(summary[key] or "-"))
    table.add_row("risks", "; ".join(info.risks()) or "none")
    table.add_row("signed", ", ".join(f"{s.actor} ({', '.join(s.roles) or 'no role'}, {s.channel})"
                                      for s in signed) or "-")
    table.add_row("still needed", ", ".join(needed) or "-")
    table.add_row("review page", str(summary["page"]))
    console.print(table)


def history(ctx: typer.Context,
            version: Annotated[int | None, typer.Option(help="Only this version's events.",
                                                        min=1, max=MAX_VERSION)] = None,
            json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every event of every version: proposed, signed, approved, rejected, rolled back, superseded, retired."""
    context = context_of(ctx)
    events = context.versions.history(version)
    rows: list[dict[str, Any]] = [
        {"at": e.at, "version": e.version, "action": e.action or e.to_status, "from": e.from_status,
         "to": e.to_status, "by": e.actor, "channel": e.channel, "os_user": e.os_user,
         "roles": list(e.roles or ()), "note": e.note} for e in events]
    if json_output:
        print_json(rows)
        return
    table = Table("when", "version", "what", "who", "channel", "roles", "note")
    for r in rows:
        channel = f"{r['channel'] or '-'}" + (f" (OS user {r['os_user']})" if r["os_user"] else "")
        table.add_row(str(r["at"]), f"v{r['version']}", str(r["action"]).replace("_", " "), str(r["by"]), channel,
                      ", ".join(r["roles"]) or "-", r["note"] or "")
    console.print(table)


def propose(ctx: typer.Context, scorecard: Annotated[Path, typer.Argument(help="Scorecard YAML file.")],
            by: Annotated[str, typer.Option(help="Who proposes it.")]) -> None:
    """Store a hand-written scorecard YAML as a proposed version: always a hypothesis, whatever the file says."""
    context = context_of(ctx)
    card = guarded(lambda: load_scorecard(scorecard))
    claimed = card.kind
    card = card.model_copy(update={"kind": "hypothesis"})
    evidence = {"source": "hand-written", "file": scorecard.name}
    info = guarded(lambda: store_proposal(context, card, by=command_line_actor(by), now=now(), evidence=evidence,
                                          note=f"hand-written scorecard from {scorecard.name}",
                                          source=str(scorecard)))
    said = f" (the file says kind: {claimed}; a hand-written scorecard is a hypothesis)"
    said = "" if claimed == "hypothesis" else said
    console.print(f"stored {info.label} (hypothesis) as proposed{said}", highlight=False)
    console.print(f"review page: {context.settings.proposal_url(context.name, info.version)}", highlight=False)


def _approver(context: Context, by: str) -> Actor:
    if not context.config.review.cli_approvals:
        fail(f"connections.{context.name}.review.cli_approvals is false: approve or reject on the review page, "
             f"signed in ({context.settings.public_url})", EXIT_USAGE)
    return command_line_actor(by)


def approve(
    ctx: typer.Context,
    version: Annotated[int, typer.Argument(help="Version number.", min=1, max=MAX_VERSION)],
    by: Annotated[str, typer.Option(help="The approver, as named in the config.")],
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
    accept_risks: Annotated[bool, typer.Option("--accept-risks", help="Accept the version's listed risks.")] = False,
) -> None:
    """Approve a version for your roles: once every required role has approved, the next run rescores with it."""
    context = context_of(ctx)
    actor = _approver(context, by)
    info = guarded(lambda: approve_version(context.versions, version, by=actor, now=now(), note=note,
                                           accept_risks=accept_risks))
    if info.status != APPROVED:
        _print_pending(context, info, actor)
        return
    console.print(f"{info.label} approved by {actor.describe()}; the next run rescores every account with it",
                  highlight=False)
    print_preview(preview_change(context.engine, context.name, info))


def _print_pending(context: Context, info: VersionInfo, actor: Actor) -> None:
    roles = context.versions.policy.roles_of(actor.key)
    needed = context.versions.outstanding(info.version)
    console.print(f"{info.label}: approval by {actor.describe()} recorded"
                  + (f" for {', '.join(roles)}" if roles else "")
                  + f"; still needed: {', '.join(needed)}", highlight=False)


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
    version: Annotated[int, typer.Argument(help="Version number.", min=1, max=MAX_VERSION)],
    by: Annotated[str, typer.Option(help="The approver, as named in the config.")],
    note: Annotated[str, typer.Option(help="Why it is rejected.")],
) -> None:
    """Reject a proposed version, with the reason; one rejection is enough."""
    context = context_of(ctx)
    actor = _approver(context, by)
    info = guarded(lambda: context.versions.reject(version, by=actor, now=now(), note=note))
    console.print(f"{info.label} rejected by {actor.describe()}", highlight=False)


def rollback(
    ctx: typer.Context,
    version: Annotated[int, typer.Argument(help="The earlier version to put back in force.", min=1, max=MAX_VERSION)],
    by: Annotated[str, typer.Option(help="The approver, as named in the config.")],
    note: Annotated[str, typer.Option(help="Why.")],
    accept_risks: Annotated[bool, typer.Option("--accept-risks", help="Accept the version's listed risks.")] = False,
) -> None:
    """Roll back: approve an earlier version again, with the same checks and sign-offs."""
    approve(ctx, version, by, note, accept_risks)
