"""Onboarding commands: init (write a config), migrate (create or upgrade the store) and doctor (check it all)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Annotated, cast

import typer

from worker.cli.common import console, fail, guarded, settings_of
from worker.operate.init import (
    DEFAULT_STORE,
    SALESFORCE_SECRETS,
    ConfigDraft,
    Crm,
    SalesforceAuth,
    WrittenConfig,
    write_config,
)
from worker.store import make_engine, migrate
from worker.store.db import current_revision

AUTH_MODES = tuple(SALESFORCE_SECRETS)
Optional = Annotated[str | None, typer.Option()]


def register(app: typer.Typer) -> None:
    """Add the onboarding commands to the root app."""
    app.command("init")(init)
    app.command("migrate")(migrate_store)
    from worker.cli.doctor import doctor

    app.command("doctor")(doctor)


def _ask(value: str | None, question: str, default: str, interactive: bool) -> str:
    if value is not None:
        return value
    return str(typer.prompt(question, default=default)) if interactive else default


def _choice(value: str | None, question: str, choices: tuple[str, ...], interactive: bool, flag: str) -> str:
    answer = _ask(value, f"{question} ({' / '.join(choices)})", choices[0], interactive).strip().lower()
    if answer not in choices:
        fail(f"{flag} {answer!r}: choose one of {', '.join(choices)}")
    return answer


def _approvers(given: list[str] | None, interactive: bool) -> tuple[str, ...]:
    people = [p.strip() for p in given or [] if p.strip()]
    if not people and interactive:
        answer = typer.prompt("Who may approve scorecard versions? (emails, comma-separated)")
        people = [p.strip() for p in str(answer).split(",") if p.strip()]
    if not people:
        fail("name at least one approver with --approver (repeat it for several): nobody else can approve a "
             "scorecard version, and nothing is scored until one is approved")
    return tuple(people)


def init(
    folder: Annotated[Path, typer.Option("--dir", help="Folder to write icp.toml, the mapping and the starter "
                                                        "scorecard into.")] = Path("."),
    crm: Annotated[str | None, typer.Option(help="hubspot or salesforce.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="The connection's name (default main).")] = None,
    approver: Annotated[list[str] | None, typer.Option(help="Who may approve versions (repeat for several).")] = None,
    store: Annotated[str | None, typer.Option(help=f"The store's URL (default {DEFAULT_STORE}, beside the config; "
                                                   "or postgresql://...).")] = None,
    leadership_owner: Annotated[str | None, typer.Option(help="Email of the CRM user who gets the leadership "
                                                              "review tasks.")] = None,
    token_env: Annotated[str | None, typer.Option(help="HubSpot: the variable holding the private-app token.")] = None,
    auth: Annotated[str | None, typer.Option(help="Salesforce: client_credentials, jwt_bearer, password or "
                                                  "session_id.")] = None,
    domain: Annotated[str | None, typer.Option(help="Salesforce: My Domain prefix (acme.my), or login / test.")]
    = None,
    client_id_env: Optional = None,
    client_secret_env: Optional = None,
    username_env: Optional = None,
    private_key_file_env: Optional = None,
    password_env: Optional = None,
    security_token_env: Optional = None,
    session_id_env: Optional = None,
    no_input: Annotated[bool, typer.Option("--no-input", help="Ask nothing: take the flags and the defaults "
                                                               "(for scripts).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing icp.toml (the mapping and scorecard "
                                                         "files are kept).")] = False,
) -> None:
    """Write a commented config for your HubSpot portal or Salesforce org (asks, or takes flags with --no-input).

    Credentials never go into it: it names the environment variables that hold them.
    """
    interactive = not no_input
    chosen_crm = cast(Crm, _choice(crm, "Which CRM", ("hubspot", "salesforce"), interactive, "--crm"))
    draft = ConfigDraft(
        connection=_ask(name, "Connection name", "main", interactive),
        crm=chosen_crm,
        approvers=_approvers(approver, interactive),
        database_url=_ask(store, "Store URL", DEFAULT_STORE, interactive),
        leadership_owner=_ask(leadership_owner, "Leadership review tasks go to (a CRM user's email, empty for "
                                                "nobody yet)", "", interactive) or None)
    if chosen_crm == "hubspot":
        draft = _with_hubspot(draft, token_env, interactive)
    else:
        given = {"client_id_env": client_id_env, "client_secret_env": client_secret_env, "username_env": username_env,
                 "private_key_file_env": private_key_file_env, "password_env": password_env,
                 "security_token_env": security_token_env, "session_id_env": session_id_env}
        draft = _with_salesforce(draft, auth, domain, given, interactive)
    written = guarded(lambda: write_config(folder, draft, overwrite=force))
    _print_written(written, draft)


def _with_hubspot(draft: ConfigDraft, token_env: str | None, interactive: bool) -> ConfigDraft:
    variable = _ask(token_env, "Environment variable holding the private-app token", "HUBSPOT_ACCESS_TOKEN",
                    interactive)
    return ConfigDraft(**{**draft.__dict__, "token_env": variable})


def _with_salesforce(draft: ConfigDraft, auth: str | None, domain: str | None, given: dict[str, str | None],
                     interactive: bool) -> ConfigDraft:
    mode = cast(SalesforceAuth, _choice(auth, "How the worker logs in", AUTH_MODES, interactive, "--auth"))
    where = _ask(domain, "My Domain prefix (acme.my), or login / test", "login", interactive)
    variables = {key: _ask(given.get(key), f"Environment variable for {key.removesuffix('_env')}", default,
                           interactive) for key, default in SALESFORCE_SECRETS[mode]}
    return ConfigDraft(**{**draft.__dict__, "salesforce_auth": mode, "salesforce_domain": where,
                          "salesforce_env": variables})


def _shown(path: Path) -> str:
    """A path as the admin typed it: relative to the working directory when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def _print_written(written: WrittenConfig, draft: ConfigDraft) -> None:
    config = _shown(written.config)
    files = ", ".join(_shown(p) + (" (kept)" if p in written.kept else "") for p in (written.mapping, written.starter))
    console.print(f"wrote {config} (connection {draft.connection}, {draft.crm}) and {files}", highlight=False)
    console.print("Credentials stay out of the file. Before the next commands, set:", highlight=False)
    for variable in draft.secret_variables():
        set_already = " (set)" if os.environ.get(variable) else ""
        console.print(f"  export {variable}=...{set_already}", highlight=False, markup=False)
    icp = f"icp --config {shlex.quote(config)}"
    console.print("Then:", highlight=False)
    for command, purpose in ((f"{icp} doctor", "checks credentials, access, the owned fields, the store and the "
                                               "clock, and says what to fix"),
                             (f"{icp} setup", "creates the fields the worker owns in the CRM"),
                             (f"{icp} run", "the first cycle: sync, then a proposed v1 with its brief to approve")):
        console.print(f"  {command}", highlight=False, markup=False, soft_wrap=True)
        console.print(f"      {purpose}", highlight=False, markup=False)


def migrate_store(ctx: typer.Context) -> None:
    """Create or upgrade the store's schema (Alembic migrations; every command also does this on first use)."""
    settings = settings_of(ctx)
    engine = make_engine(settings.database_url)
    guarded(lambda: migrate(engine))
    where = engine.url.render_as_string(hide_password=True)
    console.print(f"store ready at {where} (schema {current_revision(engine)})", highlight=False)

