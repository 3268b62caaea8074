"""Files the commands read and write: checked before any work is done, written readable by their owner only.

An output into a folder that does not exist, or onto a folder, is refused before the command
stores anything (``icp refine`` stores a version first; a retry after a late failure would add
another). An input that is missing is named. Each refusal is one line and exit code 2.
"""

from __future__ import annotations

import os
from pathlib import Path

from worker.cli.common import EXIT_FAILED, EXIT_USAGE, fail
from worker.private import write_private


def checked_output(path: Path, option: str = "--output") -> Path:
    """``path`` if a file can be written there; otherwise a one-line usage error naming ``option``."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        fail(f"{option} {path}: is a folder; name a file in it", EXIT_USAGE)
    if not folder.is_dir():
        fail(f"{option} {path}: the folder {folder} does not exist; create it first", EXIT_USAGE)
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        fail(f"{option} {path}: not writable", EXIT_USAGE)
    return path


def checked_input(path: Path, what: str = "input file") -> Path:
    """``path`` if it is a readable file; otherwise a one-line usage error."""
    if not path.exists():
        fail(f"{what} {path} does not exist", EXIT_USAGE)
    if not path.is_file():
        fail(f"{what} {path} is not a file", EXIT_USAGE)
    if not os.access(path, os.R_OK):
        fail(f"{what} {path} is not readable", EXIT_USAGE)
    return path


def write_output(path: Path, text: str) -> None:
    """Write a brief or report, readable by its owner only; a write error is one line, exit 1."""
    try:
        write_private(path, text)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}", EXIT_FAILED)
