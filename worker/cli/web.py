"""The review pages: ``icp serve``, and local accounts for them (``icp users add|passwd|remove|list``)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from worker.cli.common import EXIT_USAGE, console, fail, guarded, settings_of
from worker.store import make_engine, migrate

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from worker.web.accounts import Accounts

users_app = typer.Typer(no_args_is_help=True, help="Local accounts for the review pages (argon2-hashed passwords).")


def register(app: typer.Typer) -> None:
    """Add the web commands to the root app."""
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on; keep 127.0.0.1 behind a proxy.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
) -> None:
    """Serve the review pages: sign-in, home, proposals, history, drift and measurement."""
    import uvicorn

    from worker.web.app import build_services, create_app

    settings = settings_of(ctx)
    services = guarded(lambda: build_services(settings))
    console.print(f"review pages on http://{host}:{port} (people reach them at {settings.public_url})",
                  highlight=False)
    uvicorn.run(create_app(services), host=host, port=port, proxy_headers=True,
                forwarded_allow_ips=settings.web.forwarded_allow_ips, server_header=False, log_level="warning")


def _accounts(ctx: typer.Context) -> tuple[Accounts, Engine]:
    from worker.web.accounts import Accounts
    from worker.web.app import utcnow

    settings = settings_of(ctx)
    engine = make_engine(settings.database_url)
    guarded(lambda: migrate(engine))
    return Accounts(engine, utcnow), engine


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            fail("no password on standard input")
        return line
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _end_sessions(engine: object, email: str) -> int:
    from worker.web.app import utcnow
    from worker.web.sessions import SessionPolicy, SessionStore

    return SessionStore(engine, SessionPolicy(), utcnow).end_all(email)  # type: ignore[arg-type]


@users_app.command("add")
def add(ctx: typer.Context, email: Annotated[str, typer.Argument(help="The person's e-mail address.")],
        password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from the "
                                                     "first line of standard input.")] = False) -> None:
    """Create a local account (who may read or decide comes from the connection's config)."""
    from worker.web.accounts import AccountError

    accounts, _ = _accounts(ctx)
    try:
        key = accounts.add(email, _password(password_stdin))
    except AccountError as exc:
        fail(str(exc), EXIT_USAGE)
    console.print(f"account {key} created", highlight=False)


@users_app.command("passwd")
def passwd(ctx: typer.Context, email: Annotated[str, typer.Argument(help="The account's e-mail address.")],
           password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from the "
                                                        "first line of standard input.")] = False) -> None:
    """Set a new password; the account's sessions end."""
    from worker.web.accounts import AccountError

    accounts, engine = _accounts(ctx)
    try:
        key = accounts.set_password(email, _password(password_stdin))
    except AccountError as exc:
        fail(str(exc), EXIT_USAGE)
    ended = _end_sessions(engine, key)
    console.print(f"password of {key} changed; {ended} session(s) ended", highlight=False)


@users_app.command("remove")
def remove(ctx: typer.Context, email: Annotated[str, typer.Argument(help="The account's e-mail address.")]) -> None:
    """Delete a local account; its sessions end."""
    from worker.web.accounts import AccountError

    accounts, engine = _accounts(ctx)
    try:
        key = accounts.remove(email)
    except AccountError as exc:
        fail(str(exc), EXIT_USAGE)
    ended = _end_sessions(engine, key)
    console.print(f"account {key} removed; {ended} session(s) ended", highlight=False)


@users_app.command("list")
def list_users(ctx: typer.Context) -> None:
    """The local accounts."""
    accounts, _ = _accounts(ctx)
    for email in accounts.emails():
        console.print(email, highlight=False)
