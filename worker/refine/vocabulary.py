"""The CRM's own words for the brief: field and option labels, company and deal names, the currency, dates.

Everything here is plain data handed in by the worker (read from the store); nothing is looked
up. A name or label that is not known falls back to something a person can still read: a code
becomes words, an id is shown as "deal 30000000814" rather than a bare number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from worker.refine.text import group_words, humanise_value, number_for
from worker.score.scorecard import Bin, Criterion
from worker.score.scorecard.labels import NO_LABELS, FieldLabels, attribute_title, humanise
from worker.score.scorecard.model import normalise_category

MAX_LISTED_VALUES = 6
_CODE_TOKEN = re.compile(r"(?<![\w-])[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+(?![\w-])")
CRM_NAMES = {"hubspot": "HubSpot", "salesforce": "Salesforce", "csv": "CSV import"}


@dataclass(frozen=True)
class Vocabulary:
    """What the brief needs to speak the CRM's language.

    Attributes:
        labels: Field and option labels per canonical attribute, money attributes and the currency.
        accounts: Account id → company name.
        deals: Deal id → deal name.
        crm: ``hubspot``, ``salesforce`` or ``csv``, when known.
    """

    labels: FieldLabels = NO_LABELS
    accounts: Mapping[str, str] = field(default_factory=dict)
    deals: Mapping[str, str] = field(default_factory=dict)
    crm: str | None = None

    @property
    def currency(self) -> str | None:
        """The portal's currency (ISO 4217), or None when unknown."""
        return self.labels.currency

    @property
    def crm_name(self) -> str | None:
        """``HubSpot``, ``Salesforce`` or ``CSV import``."""
        return CRM_NAMES.get(self.crm or "", self.crm)

    def field(self, attribute: str) -> str:
        """A field's label: the CRM's, else the attribute in words."""
        return self.labels.field(attribute)

    def value(self, attribute: str, value: Any) -> str:
        """One categorical value as the CRM shows it: its option label, else the value in words."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "unknown"
        if self.labels.options.get(attribute, {}).get(normalise_category(value) or ""):
            return self.labels.value(attribute, value)
        return humanise_value(str(value))

    def values(self, attribute: str, values: Sequence[Any], limit: int = MAX_LISTED_VALUES) -> str:
        """Several values joined in words: ``Computer Software, Retail or Insurance``, ``Series A-C or growth``
        (the CRM's option labels where it has them; consecutive series as a range); long lists are cut."""
        codes = [str(v) for v in values]
        labels = {c: self.value(attribute, c) for c in codes if self._has_label(attribute, c)}
        if len(codes) > limit:
            return group_words(codes[:limit - 1], labels) + f" and {len(codes) - limit + 1} more"
        return group_words(codes, labels, last=" or ")

    def _has_label(self, attribute: str, value: str) -> bool:
        key = normalise_category(value) or ""
        return bool(self.labels.options.get(attribute, {}).get(key)) or key in ("true", "false")

    def number(self, attribute: str, value: float | None) -> str:
        """A number of this attribute as a person reads it (money in the portal's currency)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        if attribute in self.labels.money:
            return self.money(value)
        return number_for(attribute, float(value))

    def money(self, amount: float | None) -> str:
        """An amount in the portal's currency."""
        return self.labels.amount(amount)

    def account(self, account_id: str | None) -> str:
        """A company's name, else ``account <id>``."""
        if not account_id:
            return "no account"
        return self.accounts.get(str(account_id)) or f"account {account_id}"

    def deal(self, deal_id: str | None) -> str:
        """A deal's name, else ``deal <id>``."""
        if not deal_id:
            return "no deal"
        return self.deals.get(str(deal_id)) or f"deal {deal_id}"

    def range_words(self, attribute: str, low: float | None, high: float | None) -> str:
        """A half-open range in words: ``under 50``, ``200 to 1,999``, ``2,000 or more``."""
        if low is None and high is None:
            return "any value"
        if low is None:
            return f"under {self.number(attribute, high)}"
        if high is None:
            return f"{self.number(attribute, low)} or more"
        if float(low).is_integer() and float(high).is_integer() and attribute not in self.labels.money:
            return f"{self.number(attribute, low)} to {self.number(attribute, high - 1)}"
        return f"{self.number(attribute, low)} to under {self.number(attribute, high)}"

    def bin_words(self, criterion: Criterion, chosen: Bin) -> str:
        """What a scorecard bin covers, in the CRM's words."""
        if chosen.values is not None:
            return self.values(criterion.attribute, list(chosen.values))
        if chosen.range is not None:
            return self.range_words(criterion.attribute, *chosen.range)
        named = [v for b in criterion.bins if b.values is not None for v in b.values]
        if 0 < len(named) <= 2:
            return "anything but " + self.values(criterion.attribute, named)
        return "any other value"

    def relabel(self, text: str, attributes: Sequence[str] | None = None) -> str:
        """Text written by the engine with the CRM's words: option codes become labels, attribute names field labels.

        Only whole tokens are replaced: a value's code (``computer_software``) by its option label,
        an attribute's name (``funding_stage`` or ``funding stage``) by the field's label.
        """
        names = list(attributes) if attributes is not None else list(
            dict.fromkeys([*self.labels.options, *self.labels.fields]))
        replacements: dict[str, str] = {}
        for attribute in names:
            for key, label in self.labels.options.get(attribute, {}).items():
                if len(key) >= 3 and label.lower() != key.lower():
                    replacements[key] = label
            field_label = self.labels.fields.get(attribute)
            if field_label:
                replacements[attribute] = field_label
                if field_label.lower() != attribute.replace("_", " ").lower():
                    replacements[attribute.replace("_", " ")] = field_label
        if not replacements:
            return _CODE_TOKEN.sub(lambda m: humanise(m.group(0)), text)
        pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(k) for k in sorted(replacements, key=len,
                                                                                      reverse=True)) + r")(?![\w-])",
                             re.IGNORECASE)
        swapped = pattern.sub(lambda m: replacements.get(m.group(0).lower(), replacements.get(m.group(0),
                                                                                              m.group(0))), text)
        return _CODE_TOKEN.sub(lambda m: humanise(m.group(0)), swapped)

    def criterion_name(self, criterion: Criterion) -> str:
        """A criterion's field, as the CRM labels it (else the scorecard's label)."""
        return self.labels.field(criterion.attribute, criterion.label)


def day(value: str | date | datetime | None) -> str:
    """A date as people write it: ``29 May 2025`` (never a time, never microseconds)."""
    if value is None or value == "":
        return "undated"
    if isinstance(value, str):
        try:
            moment = date.fromisoformat(value[:10])
        except ValueError:
            return value
    else:
        moment = value.date() if isinstance(value, datetime) else value
    return f"{moment.day} {moment:%b %Y}"


def plural(count: int, singular: str, many: str | None = None) -> str:
    """``1 deal``, ``2 deals``, ``1,200 accounts``."""
    return f"{count:,} {singular if count == 1 else (many or singular + 's')}"


__all__ = ["Vocabulary", "attribute_title", "day", "plural"]
