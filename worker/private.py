"""Files only their owner reads: the store, briefs, reports and scored files are created 0600.

They hold CRM data (company names, deal amounts, notes). A file that already exists keeps its
owner's own choice of mode only if it is already private; otherwise it is made private too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

PRIVATE = 0o600


def create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 when it does not exist (never truncates an existing file)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    os.close(descriptor)


def open_private(path: Path, newline: str | None = None) -> IO[str]:
    """``path`` opened for writing text (UTF-8, truncated), readable by its owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    os.fchmod(descriptor, PRIVATE)
    return os.fdopen(descriptor, "w", encoding="utf-8", newline=newline)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8), readable by its owner only."""
    with open_private(path) as handle:
        handle.write(text)
