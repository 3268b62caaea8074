"""Structured logging: JSON lines in production, readable on a terminal, secrets redacted.

Logs always go to standard error, so standard output carries only what a command prints for
people, or its ``--json`` document for machines. Every event of a run carries the run id and
connection, bound once with :func:`bind_run`. :class:`Redactor` replaces any registered secret
(and anything that looks like a bearer token) wherever it appears in an event. Libraries that log
through the standard ``logging`` module (APScheduler, Alembic) are rendered the same way.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, Literal

import structlog

TOKEN_PATTERN = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}|pat-(?:na|eu)\d-[0-9a-f-]{20,}")


class Redactor:
    """A structlog processor that masks registered secrets and token-shaped strings."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def register(self, secret: str) -> None:
        """Mask this value from now on (values shorter than 6 characters are ignored)."""
        if secret and len(secret) >= 6:
            self._secrets.add(secret)

    def clean(self, text: str) -> str:
        """The text with every secret masked."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return TOKEN_PATTERN.sub(lambda m: (m.group(1) or "") + "***", text)

    def __call__(self, _logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for key, value in list(event.items()):
            if isinstance(value, str):
                event[key] = self.clean(value)
            elif isinstance(value, (dict, list, tuple)):
                event[key] = self._deep(value)
        return event

    def _deep(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.clean(value)
        if isinstance(value, dict):
            return {k: self._deep(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._deep(v) for v in value]
        return value


REDACTOR = Redactor()
_STDLIB_HANDLER_NAME = "icp-worker"


def configure_logging(fmt: Literal["auto", "json", "console"] = "auto", level: int = logging.INFO,
                      stream: Any = None) -> None:
    """Set up structlog on standard error (or ``stream``): JSON when not on a terminal (or when asked),
    coloured key=value on one. Standard-library loggers at WARNING and above are rendered alike."""
    out = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not _isatty(out))
    renderer: Any = structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer(
        colors=_isatty(out))
    shared: list[Any] = [structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
                         structlog.processors.TimeStamper(fmt="iso", utc=True)]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, REDACTOR, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    _route_stdlib(out, [*shared, structlog.stdlib.add_logger_name], renderer)


def _route_stdlib(out: Any, shared: list[Any], renderer: Any) -> None:
    """Send the standard ``logging`` module's records (WARNING and up) to ``out``, rendered like ours."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.format_exc_info,
                    REDACTOR, renderer])
    handler = logging.StreamHandler(out)
    handler.set_name(_STDLIB_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _STDLIB_HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@contextmanager
def bind_run(**context: Any) -> Iterator[None]:
    """Bind run context (run id, connection, phase...) to every event inside the block."""
    with structlog.contextvars.bound_contextvars(**context):
        yield


def get_logger(name: str | None = None) -> Any:
    """A structlog logger."""
    return structlog.get_logger(name)
