"""Human labels for attributes and their values, as the CRM shows them. Pure data, no I/O.

The CRM's property definitions (HubSpot's properties API, Salesforce's describe) give a label
for every field and every picklist option; the worker stores them and hands them here keyed by
canonical attribute. A value with no known label is shown as given, except that a code such as
``HOSPITAL_HEALTH_CARE`` or ``series_b`` reads as words ("Hospital health care", "Series b").
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from worker.score.scorecard.model import normalise_category

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CAD": "CA$", "AUD": "A$",
                    "NZD": "NZ$", "BRL": "R$", "CNY": "CN¥", "KRW": "₩", "MXN": "MX$", "ILS": "₪"}
_CODE = re.compile(r"^[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+$|^[A-Z0-9]{2,}$")
_BOOLEAN_WORDS = {"true": "Yes", "false": "No"}


def humanise(code: str) -> str:
    """Words for a code: ``COMPUTER_SOFTWARE`` → ``Computer software``; other text is returned as it is."""
    text = str(code).strip()
    if not _CODE.match(text) or not any(c.isalpha() for c in text):
        return text
    words = [w if len(w) > 1 else w.upper() for w in text.replace("_", " ").lower().split()]
    sentence = " ".join(words)
    return sentence[:1].upper() + sentence[1:]


def money(amount: float | None, currency: str | None) -> str:
    """An amount in the portal's currency, compact: ``$1.2M``, ``€950K``, ``CHF 12,500``; ``n/a`` when missing.

    Without a known currency the amount is shown with no symbol rather than a guessed one.
    """
    if amount is None or (isinstance(amount, float) and math.isnan(amount)):
        return "n/a"
    magnitude = abs(amount)
    figure = f"{amount:,.0f}"
    for size, threshold, suffix in ((1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e3, 1e4, "K")):
        if magnitude >= threshold:
            short = f"{amount / size:,.3g}"
            figure = (short if "e" not in short else f"{amount / size:,.0f}") + suffix
            break
    if not currency:
        return figure
    code = currency.upper()
    symbol = CURRENCY_SYMBOLS.get(code)
    if symbol is None:
        return f"{code} {figure}"
    return f"-{symbol}{figure[1:]}" if figure.startswith("-") else f"{symbol}{figure}"


def attribute_title(attribute: str) -> str:
    """A field name from a canonical attribute: ``annual_revenue`` → ``Annual revenue``."""
    words = re.sub(r"[_\s]+", " ", attribute).strip()
    return words[:1].upper() + words[1:]


@dataclass(frozen=True)
class FieldLabels:
    """Field and option labels per canonical attribute, and which attributes are amounts of money.

    Attributes:
        fields: Attribute → the field's label in the CRM (e.g. ``industry`` → ``Industry``).
        options: Attribute → normalised value → option label (e.g. ``computer_software`` → ``Computer Software``).
        money: Attributes whose values are amounts in the portal's currency (e.g. ``annual_revenue``).
        currency: The portal's currency (ISO 4217 code), or None when unknown.
    """

    fields: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    money: frozenset[str] = frozenset()
    currency: str | None = None

    @classmethod
    def build(cls, fields: Mapping[str, str] | None = None, options: Mapping[str, Mapping[Any, str]] | None = None,
              money: frozenset[str] | set[str] = frozenset(), currency: str | None = None) -> FieldLabels:
        """Labels with option values normalised the way the scorer compares them (case-insensitive)."""
        normalised = {attribute: {key: label for value, label in values.items()
                                  if (key := normalise_category(value)) is not None and label}
                      for attribute, values in (options or {}).items()}
        return cls({k: v for k, v in (fields or {}).items() if v}, normalised, frozenset(money), currency or None)

    def amount(self, value: float | None) -> str:
        """An amount of money in the portal's currency (see :func:`money`)."""
        return money(value, self.currency)

    def field(self, attribute: str, fallback: str | None = None) -> str:
        """The field's label, else ``fallback``, else the attribute in words."""
        return self.fields.get(attribute) or fallback or attribute_title(attribute)

    def value(self, attribute: str, value: Any) -> str:
        """A categorical value as the CRM shows it: its option label, else the value in words."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "unknown"
        key = normalise_category(value)
        label = self.options.get(attribute, {}).get(key or "")
        if label:
            return label
        if key in _BOOLEAN_WORDS:
            return _BOOLEAN_WORDS[key]
        return humanise(str(value))

    def values(self, attribute: str, values: Any) -> list[str]:
        """Several values as the CRM shows them."""
        return [self.value(attribute, v) for v in values]


NO_LABELS = FieldLabels()
