"""HubSpot value formats: every property value travels as a string."""

from __future__ import annotations

import math
import time
from datetime import UTC, date, datetime
from typing import Any

__all__ = ["iso_ms", "iso_date", "format_number", "format_bool", "parse_instant", "parse_bool"]

DAY_MS = 86_400_000


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as HubSpot's ISO-8601 form, e.g. 2024-05-01T10:15:30.123Z."""
    ms = int(ms)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def iso_date(ms: int) -> str:
    """Epoch milliseconds (midnight UTC) as YYYY-MM-DD."""
    return time.strftime("%Y-%m-%d", time.gmtime(int(ms) // 1000))


def format_number(value: Any) -> str:
    """Numbers without a needless ".0": 250 -> "250", 68.4 -> "68.4"."""
    number = float(value)
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return repr(number)


def format_bool(value: Any) -> str:
    """Booleans as "true" / "false"."""
    return "true" if bool(value) else "false"


def parse_instant(value: Any) -> int:
    """Epoch milliseconds from ms (int or digit string), ISO-8601 or YYYY-MM-DD; ValueError if neither."""
    if isinstance(value, bool):
        raise ValueError(f"not a date: {value!r}")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"not a date: {value!r}")
        return int(value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    if len(text) == 10:
        day = date.fromisoformat(text)
        return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(round(moment.timestamp() * 1000))


def parse_bool(value: Any) -> bool:
    """HubSpot booleans: true/false in any case; ValueError otherwise."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise ValueError(f"not a boolean: {value!r}")
