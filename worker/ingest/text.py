"""Text cleaning shared by every input path: no NUL, no other control characters, no lone surrogates.

PostgreSQL refuses ``\\u0000`` in text and JSON, and lone UTF-16 surrogates cannot be encoded at all;
SQLite takes both. Cleaning every string at the mapping boundary keeps the two stores alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` without NUL, other control characters and lone surrogates (tab, CR and LF kept)."""
    return _CONTROL.sub("", text) if _CONTROL.search(text) else text


def clean(value: Any) -> Any:
    """``value`` with every string in it cleaned (dict keys, lists and nested values too)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, Mapping):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value
