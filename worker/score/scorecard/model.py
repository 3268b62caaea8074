"""The scorecard document: criteria, bins, exclusions and score bands.

A scorecard is plain YAML so that people can read it, diff it and review it::

    name: Starter hypothesis
    kind: hypothesis            # hypothesis (hand-written) or evidence (proposed by refinement)
    criteria:
      - id: employees
        attribute: employees
        dimension: firmographic
        bins:
          - {range: [null, 50], points: 0, label: "employees under 50"}
          - {range: [200, 2000], points: 20, label: "employees 200-2,000"}
          - {other: true, points: 5, label: "employees other sizes"}
        missing: {points: 0, label: "employees unknown"}
    exclusions:
      - id: seed_stage
        label: seed stage
        when: {attribute: funding_stage, values: [seed]}
        effect: {points: -30}           # or {cap_tier: C}
    bands:
      - {tier: A, min: 80, meaning: "best fit, prioritise"}
      - {tier: B, min: 60, meaning: "good fit, work actively"}
      - {tier: C, min: 40}
      - {tier: D, min: 0}

Ranges are half-open ``[low, high)``; ``null`` leaves a side open. Category values
match case-insensitively. A score is ``base_points`` plus the points of the matched
bin of every criterion plus the exclusion penalties, clipped to 0-100.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

MAX_SCORE = 100
MAX_TIER_TEXT = 40  # Salesforce's ICP_Fit_Tier__c is Text(40); HubSpot allows more
Dimension = Literal["firmographic", "technographic", "behavioural", "health", "other"]
ScorecardKind = Literal["hypothesis", "evidence"]


class ScorecardError(ValueError):
    """A scorecard document is invalid; ``problems`` lists each one with its path."""

    def __init__(self, problems: list[str], source: str = "scorecard") -> None:
        self.problems = problems
        self.source = source
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source} is not a valid scorecard ({len(problems)} problem(s)):\n{lines}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def normalise_category(value: Any) -> str | None:
    """The comparable form of a categorical value: stripped, lower-case text; None when missing."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip().lower()
    return text or None


class Bin(_Strict):
    """One bin of a criterion: a numeric range, a set of category values, or everything else."""

    range: tuple[float | None, float | None] | None = None
    values: tuple[str | int | float | bool, ...] | None = None
    other: bool = False
    points: int
    label: str

    @model_validator(mode="after")
    def _one_matcher(self) -> Bin:
        given = [self.range is not None, self.values is not None, self.other]
        if sum(given) != 1:
            raise ValueError("a bin needs exactly one of 'range', 'values' or 'other: true'")
        if self.range is not None:
            low, high = self.range
            if low is not None and high is not None and not low < high:
                raise ValueError(f"range low {low} must be below high {high}")
        if self.values is not None and not self.values:
            raise ValueError("'values' must list at least one value")
        return self

    @property
    def normalised_values(self) -> frozenset[str]:
        """The bin's category values in comparable form."""
        return frozenset(v for v in (normalise_category(x) for x in self.values or ()) if v)


class MissingBin(_Strict):
    """What a criterion gives when the attribute is missing: shown, never silently zero."""

    points: int = 0
    label: str | None = None


class Criterion(_Strict):
    """A scored attribute: bins with integer points, grouped in a dimension."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    attribute: str
    dimension: Dimension = "other"
    label: str | None = None
    bins: tuple[Bin, ...] = Field(min_length=1)
    missing: MissingBin = MissingBin()
    evidence: dict[str, Any] | None = None

    @property
    def kind(self) -> Literal["numeric", "categorical"]:
        """Numeric when any bin is a range, else categorical."""
        return "numeric" if any(b.range is not None for b in self.bins) else "categorical"

    @property
    def title(self) -> str:
        """A human name for the criterion."""
        return self.label or self.attribute.replace("_", " ")

    @property
    def missing_label(self) -> str:
        """The reason text used when the attribute is missing."""
        return self.missing.label or f"{self.title} unknown"

    @property
    def max_points(self) -> int:
        """The most points this criterion can give."""
        return max([b.points for b in self.bins] + [self.missing.points])

    @property
    def min_points(self) -> int:
        """The fewest points this criterion can give."""
        return min([b.points for b in self.bins] + [self.missing.points])


class Condition(_Strict):
    """An exclusion's condition on one attribute."""

    attribute: str
    range: tuple[float | None, float | None] | None = None
    values: tuple[str | int | float | bool, ...] | None = None

    @model_validator(mode="after")
    def _one_matcher(self) -> Condition:
        if (self.range is None) == (self.values is None):
            raise ValueError("a condition needs exactly one of 'range' or 'values'")
        return self


class Effect(_Strict):
    """What an exclusion does: subtract points, or cap the tier, or both."""

    points: int | None = Field(default=None, le=0)
    cap_tier: str | None = None

    @model_validator(mode="after")
    def _some_effect(self) -> Effect:
        if self.points is None and self.cap_tier is None:
            raise ValueError("an effect needs 'points' (zero or negative) or 'cap_tier'")
        return self


class Exclusion(_Strict):
    """An anti-persona: a named condition with a penalty or a tier cap."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    when: Condition
    effect: Effect
    evidence: dict[str, Any] | None = None


class Band(_Strict):
    """A tier, the lowest score that reaches it, and optionally what it means for a rep.

    ``meaning`` is one short line ("best fit, prioritise"); the tier written to the CRM then
    reads ``A: best fit, prioritise`` (see :meth:`Scorecard.tier_text`), at most
    ``MAX_TIER_TEXT`` characters so it fits the owned tier field everywhere.
    """

    tier: str = Field(min_length=1)
    min: int = Field(ge=0, le=MAX_SCORE)
    meaning: str | None = Field(default=None, min_length=1)

    @property
    def text(self) -> str:
        """The tier as a rep reads it: ``A: best fit, prioritise``, or just ``A``."""
        return f"{self.tier}: {self.meaning}" if self.meaning else self.tier


class Scorecard(_Strict):
    """A whole scorecard version. Use :func:`parse_scorecard` to build one with full checks."""

    name: str
    kind: ScorecardKind = "hypothesis"
    description: str | None = None
    base_points: int = 0
    criteria: tuple[Criterion, ...] = Field(min_length=1)
    exclusions: tuple[Exclusion, ...] = ()
    bands: tuple[Band, ...] = Field(min_length=1)
    dimension_weights: dict[str, float] | None = None
    evidence: dict[str, Any] | None = None

    @property
    def tiers(self) -> list[str]:
        """Tiers from best to worst."""
        return [b.tier for b in sorted(self.bands, key=lambda b: -b.min)]

    @property
    def attributes(self) -> list[str]:
        """Every attribute the scorecard reads, in first-use order."""
        seen: dict[str, None] = {}
        for c in self.criteria:
            seen.setdefault(c.attribute, None)
        for e in self.exclusions:
            seen.setdefault(e.when.attribute, None)
        return list(seen)

    def tier_rank(self, tier: str) -> int:
        """0 for the best tier, increasing towards the worst."""
        return self.tiers.index(tier)

    def with_meanings(self, source: Scorecard | None) -> Scorecard:
        """This scorecard with ``source``'s band meanings for tiers of the same name that have none here.

        A proposal fitted on evidence keeps what each tier means to a rep in the version it replaces.
        """
        if source is None:
            return self
        meanings = {b.tier: b.meaning for b in source.bands if b.meaning}
        bands = tuple(b if b.meaning or b.tier not in meanings else b.model_copy(update={"meaning": meanings[b.tier]})
                      for b in self.bands)
        return self if bands == self.bands else self.model_copy(update={"bands": bands})

    def tier_text(self, tier: str) -> str:
        """The tier with its one-line meaning, as written to the CRM (``A: best fit, prioritise``)."""
        band = next((b for b in self.bands if b.tier == tier), None)
        return band.text if band is not None else tier


def _format_loc(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(document)"


def _bin_problems(criterion: Criterion, where: str) -> list[str]:
    problems: list[str] = []
    kinds = {b.range is not None for b in criterion.bins if not b.other}
    if len(kinds) > 1:
        problems.append(f"{where}.bins: mixes 'range' and 'values' bins; use one kind per criterion")
    if sum(b.other for b in criterion.bins) > 1:
        problems.append(f"{where}.bins: more than one 'other' bin")
    ranges = sorted(
        ((b.range[0] if b.range[0] is not None else -math.inf,
          b.range[1] if b.range[1] is not None else math.inf, i)
         for i, b in enumerate(criterion.bins) if b.range is not None),
    )
    for (_lo1, hi1, i1), (lo2, _hi2, i2) in zip(ranges, ranges[1:], strict=False):
        if lo2 < hi1:
            problems.append(f"{where}.bins[{i2}].range overlaps {where}.bins[{i1}].range")
    seen: dict[str, int] = {}
    for i, b in enumerate(criterion.bins):
        for v in b.normalised_values:
            if v in seen:
                problems.append(f"{where}.bins[{i}].values: '{v}' is already in {where}.bins[{seen[v]}]")
            seen[v] = i
    return problems


def _semantic_problems(card: Scorecard) -> list[str]:
    problems: list[str] = []
    ids = [c.id for c in card.criteria]
    for i, c in enumerate(card.criteria):
        if ids.count(c.id) > 1 and ids.index(c.id) != i:
            problems.append(f"criteria[{i}].id: '{c.id}' is used twice")
        problems.extend(_bin_problems(c, f"criteria[{i}]"))
    tiers = [b.tier for b in card.bands]
    if len(set(tiers)) != len(tiers):
        problems.append("bands: a tier is named twice")
    if len({b.min for b in card.bands}) != len(card.bands):
        problems.append("bands: two bands start at the same score")
    for i, b in enumerate(card.bands):
        if len(b.text) > MAX_TIER_TEXT:
            problems.append(f"bands[{i}].meaning: '{b.text}' is {len(b.text)} characters; the tier field holds "
                            f"{MAX_TIER_TEXT}, so shorten the meaning")
    if 0 not in {b.min for b in card.bands}:
        problems.append("bands: one band must start at 0 so every score has a tier")
    for i, e in enumerate(card.exclusions):
        if e.effect.cap_tier is not None and e.effect.cap_tier not in tiers:
            problems.append(f"exclusions[{i}].effect.cap_tier: '{e.effect.cap_tier}' is not a tier in bands {tiers}")
    top = card.base_points + sum(c.max_points for c in card.criteria)
    if top > MAX_SCORE:
        problems.append(f"criteria: points can add up to {top} but scores run 0-{MAX_SCORE}; lower some points")
    if top <= 0:
        problems.append(f"criteria: the best possible score is {top}; at least one bin must give points")
    return problems


def parse_scorecard(document: dict[str, Any] | Any, source: str = "scorecard") -> Scorecard:
    """Validate a parsed YAML document and return the scorecard, or raise :class:`ScorecardError`."""
    if not isinstance(document, dict):
        raise ScorecardError(["(document): expected a mapping at the top level"], source)
    try:
        card = Scorecard.model_validate(document)
    except ValidationError as exc:
        problems = [f"{_format_loc(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise ScorecardError(problems, source) from None
    problems = _semantic_problems(card)
    if problems:
        raise ScorecardError(problems, source)
    return card


def load_scorecard(text_or_path: str | Path) -> Scorecard:
    """Load a scorecard from YAML text or from a file path."""
    source = "scorecard"
    text = str(text_or_path)
    if isinstance(text_or_path, Path) or ("\n" not in text and text.endswith((".yaml", ".yml"))):
        path = Path(text_or_path)
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScorecardError([f"(document): cannot read the file: {exc.strerror or exc}"], source) from None
        except UnicodeDecodeError as exc:
            line = path.read_bytes()[: exc.start].count(b"\n") + 1
            raise ScorecardError([f"(document): line {line} is not UTF-8 (byte 0x{exc.object[exc.start]:02x}); "
                                  "save the file as UTF-8"], source) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScorecardError([f"(document): not valid YAML: {exc}"], source) from None
    return parse_scorecard(document, source)


def dump_scorecard(card: Scorecard) -> str:
    """Render a scorecard as stable, diffable YAML."""
    document = card.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
    for criterion in document["criteria"]:
        criterion["bins"] = [
            {k: v for k, v in b.items() if not (k == "other" and v is False)} for b in criterion["bins"]
        ]
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=110)
