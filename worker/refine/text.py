"""Readable names and numbers for labels, reasons and the brief."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence


def title(attribute: str) -> str:
    """A human name for an attribute: ``annual_revenue`` becomes ``annual revenue``."""
    return re.sub(r"[_\s]+", " ", attribute).strip()


ACRONYMS = {
    "ai": "AI", "api": "API", "apac": "APAC", "b2b": "B2B", "b2c": "B2C", "crm": "CRM", "emea": "EMEA", "erp": "ERP",
    "eu": "EU", "hr": "HR", "ipo": "IPO", "it": "IT", "latam": "LATAM", "ml": "ML", "na": "NA", "saas": "SaaS",
    "smb": "SMB", "uk": "UK", "us": "US", "usa": "USA", "vc": "VC",
}
"""Words kept in their usual capitals when a code is turned into words (``it_services`` reads ``IT services``)."""
_SERIES = re.compile(r"^(?P<stem>.*\S)\s+(?P<step>[A-Za-z]|\d+)$")


def _is_code(value: str) -> bool:
    """A stored code rather than a label: no mixed case (``series_a``, ``COMPUTER_SOFTWARE``, ``growth``)."""
    return value == value.lower() or value == value.upper()


def _word(token: str) -> str:
    lower = token.lower()
    if lower in ACRONYMS:
        return ACRONYMS[lower]
    if len(token) == 1 or (any(c.isdigit() for c in token) and any(c.isalpha() for c in token)):
        return token.upper()
    return lower


def humanise_value(value: str) -> str:
    """A stored category value in words: ``series_a`` reads ``Series A``, ``it_services`` ``IT services``,
    ``true``/``false`` ``Yes``/``No``. A value already written with mixed case (a label) is kept as it is."""
    text = re.sub(r"[_\s]+", " ", str(value)).strip()
    if text.lower() in ("true", "false"):
        return "Yes" if text.lower() == "true" else "No"
    if not text or not _is_code(text):
        return text
    words = " ".join(_word(t) for t in text.split(" "))
    return words[:1].upper() + words[1:]


def value_words(value: str) -> str:
    """A category value inside a criterion's label: :func:`humanise_value`, with booleans as ``yes``/``no``."""
    words = humanise_value(value)
    return words.lower() if words in ("Yes", "No") else words


def collapse_series(words: Sequence[str]) -> list[str]:
    """Consecutive steps of one series read as a range: ``Series A``, ``Series B``, ``Series C`` become
    ``Series A-C`` (at the place of the first; runs of three steps or more), ``Tier 1``..``Tier 3`` ``Tier 1-3``."""
    steps: dict[str, list[tuple[int, int, str]]] = {}
    for i, w in enumerate(words):
        found = _SERIES.match(w)
        if found:
            steps.setdefault(found["stem"].lower(), []).append((_step_order(found["step"]), i, found["step"]))
    replaced: dict[int, str] = {}
    dropped: set[int] = set()
    for members in steps.values():
        for run in _runs(sorted(members)):
            if len(run) < 3:
                continue
            first = min(i for _, i, _ in run)
            stem = _SERIES.match(words[first])
            assert stem is not None
            replaced[first] = f"{stem['stem']} {run[0][2]}-{run[-1][2]}"
            dropped |= {i for _, i, _ in run if i != first}
    return [replaced.get(i, w) for i, w in enumerate(words) if i not in dropped]


def _runs(members: list[tuple[int, int, str]]) -> list[list[tuple[int, int, str]]]:
    runs: list[list[tuple[int, int, str]]] = []
    for m in members:
        if runs and m[0] == runs[-1][-1][0] + 1:
            runs[-1].append(m)
        elif not runs or m[0] != runs[-1][-1][0]:
            runs.append([m])
    return runs


def _step_order(step: str) -> int:
    return int(step) if step.isdigit() else ord(step.upper()) - ord("A")


def group_words(
    values: Sequence[str], labels: Mapping[str, str] | None = None, last: str = ", ", within: bool = False
) -> str:
    """The members of a group of category values in words: ``Series A-C, growth, public``.

    Each value reads as its label in ``labels`` (the CRM's option labels, kept as written), else as
    :func:`value_words`; consecutive series collapse to a range (:func:`collapse_series`); after the
    first (or from the first, ``within`` a sentence), a member turned into words starts in lower case
    unless it is an acronym. ``last`` joins the final member (``" or "`` in sentences).
    """
    known = labels or {}
    words = [known.get(v) or value_words(v) for v in values]
    lowered = {w for v, w in zip(values, words, strict=True) if not known.get(v) and _is_code(str(v)) and _lower_ok(w)}
    shown = [w[:1].lower() + w[1:] if (i or within) and (w in lowered or _collapsed_code(w, lowered)) else w
             for i, w in enumerate(collapse_series(words))]
    if len(shown) < 2:
        return "".join(shown)
    return ", ".join(shown[:-1]) + last + shown[-1]


def _collapsed_code(words: str, lowered: set[str]) -> bool:
    found = _SERIES.match(words.split("-", 1)[0]) if "-" in words else None
    return found is not None and found.string in lowered


def _lower_ok(words: str) -> bool:
    first = words.split(" ", 1)[0].split("-", 1)[0]
    return len(first) > 1 and first[1:].islower() and first.lower() not in ACRONYMS


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
