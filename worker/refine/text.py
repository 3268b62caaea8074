"""Readable names and numbers for labels, reasons and the brief."""

from __future__ import annotations

import math
import re


def title(attribute: str) -> str:
    """A human name for an attribute: ``annual_revenue`` becomes ``annual revenue``."""
    return re.sub(r"[_\s]+", " ", attribute).strip()


def value_words(value: str) -> str:
    """A category value as people write it: ``series_a`` becomes ``Series a``; ``true``/``false`` yes/no."""
    if value in ("true", "false"):
        return "yes" if value == "true" else "no"
    words = re.sub(r"[_\s]+", " ", value).strip()
    return words[:1].upper() + words[1:]


def slug(text: str, max_length: int = 48) -> str:
    """An identifier made of lower-case letters, digits and underscores, starting with a letter."""
    cleaned = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if not cleaned or not cleaned[0].isalpha():
        cleaned = f"x_{cleaned}"
    return cleaned[:max_length].rstrip("_")


def number(value: float | None) -> str:
    """A compact number: 1,500; 12M; 2.5B; 0.35."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    magnitude = abs(value)
    for size, suffix in ((1e9, "B"), (1e6, "M")):
        if magnitude >= size:
            return f"{value / size:,.3g}{suffix}"
    if magnitude >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}"


def number_for(attribute: str, value: float | None) -> str:
    """:func:`number`, except that a calendar year (an attribute named like ``founded_year``) reads 2012."""
    if "year" in attribute.lower() and value is not None and not math.isnan(value) and 1000 <= abs(value) < 10000:
        return f"{value:.0f}"
    return number(value)


def percent(value: float | None, digits: int = 0) -> str:
    """A share as a percentage, ``n/a`` when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{100 * value:.{digits}f}%"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACE = re.compile(r"\s+")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_MD_INLINE = re.compile(r"([\\`*_\[\]|~])")
_MD_LINE_START = re.compile(r"^([#+\-=])(?=\s|$)")
_MD_ORDERED = re.compile(r"^(\d+)([.)])(?=\s|$)")


def strip_controls(text: str) -> str:
    """Text without control characters (line breaks and tabs kept)."""
    return _CONTROL.sub("", text)


def plain(text: object) -> str:
    """Text from CRM data made safe for one line of plain text: no control characters, no line breaks."""
    return _SPACE.sub(" ", _CONTROL.sub("", str(text))).strip()


def md_escape(text: object) -> str:
    """Text from CRM data made inert in Markdown: no HTML, no emphasis, links, code, tables or headings.

    Angle brackets become entities (so ``<script>`` shows as text), Markdown punctuation is
    backslash-escaped, pipes cannot split a table cell, and line breaks and control characters go.
    """
    text = plain(text)
    text = _ENTITY.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_INLINE.sub(r"\\\1", text)
    return _MD_ORDERED.sub(r"\1\\\2", _MD_LINE_START.sub(r"\\\1", text))
