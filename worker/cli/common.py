"""What every command shares: settings from the global options, error handling, output."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console

from connectors.errors import ConnectorError
from worker.context import Context
from worker.ingest.mapping import MappingError
from worker.logs import configure_logging
from worker.score.scorecard import ScorecardError
from worker.score.versions import GovernanceError
from worker.settings import ConfigError, Settings, load_settings
from worker.store import StoreError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MAX_VERSION = 2**31 - 1
"""The largest version number a store can hold (a 32-bit integer column); larger ones are refused as usage errors."""
console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")


@dataclass
class Options:
    """Global options given before the command."""

    config: Path | None = None
    connection: str | None = None
    log_format: str | None = None


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print an error and exit with ``code`` (2 bad usage or config, 1 run failed)."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def handled() -> Iterator[None]:
    """Turn the worker's typed errors into clear messages and exit codes."""
    try:
        yield
    except (ConfigError, MappingError, ScorecardError, GovernanceError) as exc:
        fail(str(exc), EXIT_USAGE)
    except StoreError as exc:
        fail(str(exc), EXIT_FAILED)
    except ConnectorError as exc:
        fail(str(exc), EXIT_FAILED)


def icp_command(ctx: typer.Context) -> str:
    """How to call ``icp`` again with the same config and connection, for commands printed to people."""
    options: Options = ctx.obj or Options()
    parts = ["icp"]
    if options.config is not None:
        parts += ["--config", shlex.quote(str(options.config))]
    if options.connection is not None:
        parts += ["--connection", shlex.quote(options.connection)]
    return " ".join(parts)


def settings_of(ctx: typer.Context, overrides: dict[str, Any] | None = None) -> Settings:
    """Settings from the environment, the config file and the global options; logging set up."""
    options: Options = ctx.obj or Options()
    with handled():
        settings = load_settings(options.config, overrides)
    configure_logging(options.log_format or settings.log_format)  # type: ignore[arg-type]
    return settings


def context_of(ctx: typer.Context) -> Context:
    """The resolved connection context (store migrated)."""
    options: Options = ctx.obj or Options()
    settings = settings_of(ctx)
    with handled():
        context = Context.open(settings, options.connection)
    if not context.config.approvers:
        where = f"[connections.{context.name}] in {options.config}" if options.config else \
            "a config file (`icp init` writes one; pass it with --config or ICP_CONFIG)"
        err_console.print(f"[yellow]note:[/] connection {context.name!r} names no approvers, so nobody can approve "
                          f"a scorecard version: add approvers = [\"you@example.com\"] to {where}",
                          highlight=False, soft_wrap=True)
    return context


def now() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


def print_json(data: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def guarded(call: Callable[[], T]) -> T:
    """Run ``call`` with the typed errors translated."""
    with handled():
        return call()
