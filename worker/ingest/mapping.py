"""Field mapping: from raw CRM properties to canonical records, with typed parsing and quarantine.

The mapping is a YAML document (see ``config/hubspot-mapping.yaml``). A value that
does not parse as its declared type quarantines the whole record with the record
id, the field and the reason; the raw record is kept so a corrected mapping can
take it in later without a re-pull.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from connectors.base import FieldSpec, RawRecord
from worker.ingest.records import AccountRecord, DealRecord, EvidenceNote, OwnerRecord, Quarantined
from worker.ingest.rules import RuleBroken, admit, check_moment, clean

FieldType = Literal["number", "integer", "category", "boolean", "text", "date", "datetime"]
KnownWhen = Literal["before_close", "after_close"]
"""When an attribute's value is known relative to a deal's close (the mapping's ``known:``)."""
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "t"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "f"})


class MappingError(ValueError):
    """The mapping document is invalid; the message names each bad key."""


class FieldRef(BaseModel):
    """A CRM field, the type its values are parsed as and, for categories, values to translate.

    ``values`` maps a canonical value to the CRM values that mean it (``{Technology: [SaaS, Software]}``),
    matched case-insensitively; a value not listed is kept as the CRM gave it, so an org's custom
    picklist values can be read as the standard ones a scorecard uses.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    field: str
    type: FieldType = "text"
    values: dict[str, list[str]] = {}
    known: KnownWhen | None = None

    @model_validator(mode="after")
    def _translation(self) -> FieldRef:
        if self.values and self.type not in ("category", "text"):
            raise ValueError(f"values: only category or text fields translate values, not {self.type}")
        seen: dict[str, str] = {}
        for canonical, raws in self.values.items():
            for raw in raws:
                key = str(raw).strip().lower()
                if key in seen and seen[key] != canonical:
                    raise ValueError(f"values: {raw!r} is listed under both {seen[key]!r} and {canonical!r}")
                seen[key] = canonical
        return self

    def translate(self, value: Any) -> Any:
        """The canonical value for a parsed CRM value (unchanged when not listed)."""
        if not self.values or not isinstance(value, str):
            return value
        wanted = value.strip().lower()
        for canonical, raws in self.values.items():
            if wanted in {str(r).strip().lower() for r in raws}:
                return canonical
        return value


def _ref(value: Any, default_type: FieldType) -> Any:
    return {"field": value, "type": default_type} if isinstance(value, str) else value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountMapping(_Section):
    """Where account fields come from."""

    name: str | None = None
    owner: str | None = None
    attributes: dict[str, FieldRef] = {}
    health: dict[str, FieldRef] = {}
    override: dict[Literal["score", "reason"], str] = {}


class DealMapping(_Section):
    """Where deal fields come from (the outcome is derived by the connector from stage metadata)."""

    name: str | None = None
    owner: str | None = None
    amount: FieldRef | None = None
    created_at: FieldRef | None = None
    closed_at: FieldRef | None = None
    stage: FieldRef | None = None
    pipeline: FieldRef | None = None
    loss_reason: FieldRef | None = None
    competitor: FieldRef | None = None
    lead_source: FieldRef | None = None
    attributes: dict[str, FieldRef] = {}

    @field_validator("amount", "created_at", "closed_at", "stage", "pipeline", "loss_reason", "competitor",
                     "lead_source", mode="before")
    @classmethod
    def _shorthand(cls, value: Any, info: Any) -> Any:
        kinds: dict[str, FieldType] = {"amount": "number", "created_at": "datetime", "closed_at": "datetime"}
        return _ref(value, kinds.get(info.field_name, "text"))


class NoteMapping(_Section):
    """Where note fields come from."""

    text: str = "hs_note_body"
    created_at: str | None = None
    author: str | None = None
    kind: str | None = None


class OwnedFields(_Section):
    """The CRM fields the worker owns and writes."""

    score: str
    tier: str
    reasons: str
    version: str
    scored_at: str
    status: str | None = None
    """Optional: where the worker tells reps why it ignored a manual override (empty when nothing to say)."""

    def specs(self) -> list[FieldSpec]:
        """The owned fields with their types, for setup and checks."""
        return [
            FieldSpec(self.score, "ICP fit score", "number", "Fit score 0-100 from the approved ICP scorecard."),
            FieldSpec(self.tier, "ICP fit tier", "string", "Tier from the approved ICP scorecard's bands."),
            FieldSpec(self.reasons, "ICP fit reasons", "text", "Top positive and negative reasons for the score."),
            FieldSpec(self.version, "ICP scorecard version", "string", "The scorecard version that scored it."),
            FieldSpec(self.scored_at, "ICP scored at", "datetime", "When the current score was computed."),
            *([FieldSpec(self.status, "ICP fit status", "text", "Why a manual override was ignored, when it was.")]
              if self.status else []),
        ]


class OwnedDealFields(_Section):
    """The deal (opportunity) fields the worker owns: its account's fit score and tier, on open deals."""

    score: str
    tier: str

    def specs(self) -> list[FieldSpec]:
        """The owned deal fields with their types, for setup and checks."""
        return [FieldSpec(self.score, "Account ICP fit score", "number", "The account's fit score 0-100.", "deals"),
                FieldSpec(self.tier, "Account ICP fit tier", "string", "The account's fit tier.", "deals")]


class NativeTier(_Section):
    """The CRM's own ICP-tier field, mirrored only when ``writeback.mirror_native_tier`` is on."""

    field: str
    values: dict[str, str]


class FieldMapping(_Section):
    """A whole mapping document."""

    crm: Literal["hubspot", "salesforce", "csv"]
    accounts: AccountMapping
    deals: DealMapping = DealMapping()
    notes: NoteMapping = NoteMapping()
    owned: OwnedFields | None = None
    owned_deals: OwnedDealFields | None = None
    native_tier: NativeTier | None = None

    @field_validator("accounts", mode="before")
    @classmethod
    def _account_refs(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for section in ("attributes", "health"):
                if isinstance(value.get(section), dict):
                    value = {**value, section: {k: _ref(v, "text") for k, v in value[section].items()}}
        return value

    def setup_specs(self) -> list[FieldSpec]:
        """The fields ``icp setup`` creates: the owned ones, plus the override fields people fill in.

        The worker writes only the owned fields; it reads the override fields and never writes them.
        """
        specs = self.owned.specs() if self.owned is not None else []
        specs += self.owned_deals.specs() if self.owned_deals is not None else []
        override = self.accounts.override
        if "score" in override:
            specs.append(FieldSpec(override["score"], "ICP fit override", "number",
                                   "Set by a person: a fit score 0-100 that wins over the computed one."))
        if "reason" in override:
            specs.append(FieldSpec(override["reason"], "ICP fit override reason", "text",
                                   "Why the override was set; shown to reps with the score."))
        return specs

    def account_properties(self) -> list[str]:
        """Every CRM property to read for accounts, owned ones included."""
        a = self.accounts
        names = [a.name, a.owner, *(r.field for r in a.attributes.values()), *(r.field for r in a.health.values()),
                 *a.override.values()]
        if self.owned is not None:
            names += [self.owned.score, self.owned.tier, self.owned.reasons, self.owned.version, self.owned.scored_at]
        if self.native_tier is not None:
            names.append(self.native_tier.field)
        return [n for n in dict.fromkeys(names) if n]

    def deal_properties(self) -> list[str]:
        """Every CRM property to read for deals."""
        d = self.deals
        refs = [d.amount, d.created_at, d.closed_at, d.stage, d.pipeline, d.loss_reason, d.competitor,
                d.lead_source, *d.attributes.values()]
        names = [d.name, d.owner, *(r.field for r in refs if r is not None)]
        return [n for n in dict.fromkeys(names) if n]

    def note_properties(self) -> list[str]:
        """Every CRM property to read for notes."""
        n = self.notes
        return [p for p in dict.fromkeys([n.text, n.created_at, n.author, n.kind]) if p]


def load_mapping(path: str | Path) -> FieldMapping:
    """Load and validate a mapping file; errors name the key and what was expected."""
    source = Path(path)
    try:
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MappingError(f"{source}: cannot read the mapping: {exc}") from None
    try:
        return FieldMapping.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise MappingError(f"{source}: invalid mapping: {problems}") from None


class BadValue(ValueError):
    """A value that does not parse as its field's type."""


class ImpossibleValue(BadValue):
    """A value that parses but cannot be true (a date before 1900 or after next year)."""


def parse_value(value: Any, kind: FieldType) -> Any:
    """Parse one raw value as ``kind``; empty means missing (None); unparseable raises :class:`BadValue`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = value.strip() if isinstance(value, str) else value
    try:
        if kind == "number":
            number = float(text)
            if not math.isfinite(number):
                raise BadValue(f"{value!r} is not a finite number")
            return number
        if kind == "integer":
            number = float(text)
            if not number.is_integer():
                raise BadValue(f"{value!r} is not a whole number")
            return int(number)
        if kind == "boolean":
            return _boolean(text)
        if kind in ("date", "datetime"):
            return _moment(text, kind)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        if isinstance(exc, ImpossibleValue):
            raise
        raise BadValue(str(exc) if isinstance(exc, BadValue) else f"{value!r} is not a valid {kind}") from None
    return str(text)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise BadValue(f"{value!r} is not a boolean (true/false)")


def _moment(value: Any, kind: str) -> str:
    """ISO text: a date (YYYY-MM-DD) or an aware UTC datetime; epoch milliseconds accepted."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif str(value).isdigit():
        moment = datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    try:
        check_moment(moment)
    except RuleBroken as exc:
        raise ImpossibleValue(exc.reason) from None
    return moment.date().isoformat() if kind == "date" else moment.isoformat()


def to_datetime(value: str | None) -> datetime | None:
    """The aware UTC datetime of a parsed date/datetime value (a date is its midnight UTC)."""
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Normaliser:
    """Turns raw CRM records into canonical records, or quarantines them with the reason."""

    def __init__(self, mapping: FieldMapping) -> None:
        self.mapping = mapping

    def _fields(self, record: RawRecord, refs: Mapping[str, FieldRef]) -> dict[str, Any]:
        values = {}
        for name, ref in refs.items():
            try:
                values[name] = ref.translate(parse_value(record.properties.get(ref.field), ref.type))
            except BadValue as exc:
                raise _Quarantine(ref.field, str(exc)) from None
        return values

    def account(self, record: RawRecord) -> AccountRecord | Quarantined:
        """A canonical account, or the reason it is quarantined (input rules: :mod:`worker.ingest.rules`)."""
        record = _cleaned(record)
        result = self._account(record)
        return result if isinstance(result, Quarantined) else self._admitted(record, result, self._account_sources())

    def _account_sources(self) -> dict[str, str]:
        a = self.mapping.accounts
        sources = {"owner_id": a.owner or "owner", "override_score": a.override.get("score", "override")}
        return sources | {k: r.field for k, r in (*a.attributes.items(), *a.health.items())}

    def _deal_sources(self) -> dict[str, str]:
        d = self.mapping.deals
        refs = {k: getattr(d, k) for k in ("amount", "created_at", "closed_at", "stage", "pipeline", "lead_source")}
        sources = {k: r.field for k, r in refs.items() if r is not None} | {"owner_id": d.owner or "owner"}
        return sources | {k: r.field for k, r in d.attributes.items()}

    @staticmethod
    def _admitted(record: RawRecord, result: Any, sources: Mapping[str, str]) -> Any:
        try:
            admit(result)
        except RuleBroken as exc:
            return _quarantined(record, _Quarantine(sources.get(exc.field, exc.field), exc.reason))
        return result

    def _override(self, props: Mapping[str, Any]) -> tuple[float | None, str | None]:
        """(the override score, None) or (None, why it is ignored): a bad override never costs the account."""
        field = self.mapping.accounts.override.get("score")
        try:
            override = parse_value(props.get(field), "number") if field else None
        except BadValue as exc:
            return None, f"{field}: {exc}"
        if override is not None and not 0 <= override <= 100:
            return None, f"{field}: override {override:g} is outside 0-100"
        return override, None

    def _account(self, record: RawRecord) -> AccountRecord | Quarantined:
        a, props = self.mapping.accounts, record.properties
        try:
            override, override_issue = self._override(props)
            owned = {}
            if self.mapping.owned is not None:
                o = self.mapping.owned
                owned = {k: _text(props.get(f)) for k, f in
                         (("score", o.score), ("tier", o.tier), ("reasons", o.reasons), ("version", o.version))}
            if self.mapping.native_tier is not None:
                owned["native_tier"] = _text(props.get(self.mapping.native_tier.field))
            return AccountRecord(
                id=record.id, name=_text(props.get(a.name)) if a.name else None,
                owner_id=_text(props.get(a.owner)) if a.owner else None, modified_at=record.modified_at,
                attributes=self._fields(record, a.attributes), health=self._fields(record, a.health),
                override_score=None if override is None else int(round(override)),
                override_reason=_text(props.get(a.override.get("reason", ""))), override_issue=override_issue,
                owned_values=owned, raw=dict(props), deleted=record.deleted)
        except (_Quarantine, BadValue) as exc:
            return _quarantined(record, exc)

    def deal(self, record: RawRecord) -> DealRecord | Quarantined:
        """A canonical deal, or the reason it is quarantined (input rules: :mod:`worker.ingest.rules`)."""
        record = _cleaned(record)
        result = self._deal(record)
        return result if isinstance(result, Quarantined) else self._admitted(record, result, self._deal_sources())

    def _deal(self, record: RawRecord) -> DealRecord | Quarantined:
        d, props = self.mapping.deals, record.properties
        outcome = record.derived.get("outcome")
        if outcome not in ("won", "lost", "open"):
            return Quarantined("deals", record.id, "outcome", f"cannot tell won/lost/open (got {outcome!r})",
                               dict(props))
        refs = {k: getattr(d, k) for k in ("amount", "created_at", "closed_at", "stage", "pipeline", "loss_reason",
                                           "competitor", "lead_source") if getattr(d, k) is not None}
        try:
            values = self._fields(record, refs)
            if values.get("amount") is not None and values["amount"] < 0:
                raise _Quarantine(d.amount.field if d.amount else "amount", "negative amount")
            return DealRecord(
                id=record.id, account_id=record.derived.get("account_id"), outcome=outcome,
                owner_id=_text(props.get(d.owner)) if d.owner else None, amount=values.get("amount"),
                created_at=to_datetime(values.get("created_at")), closed_at=to_datetime(values.get("closed_at")),
                modified_at=record.modified_at, stage=values.get("stage"), pipeline=values.get("pipeline"),
                loss_reason=values.get("loss_reason"), competitor=values.get("competitor"),
                lead_source=values.get("lead_source"), attributes=self._fields(record, d.attributes),
                raw=dict(props), deleted=record.deleted)
        except (_Quarantine, BadValue) as exc:
            return _quarantined(record, exc)

    def note(self, record: RawRecord) -> EvidenceNote | Quarantined:
        """A canonical evidence note; notes without text, or breaking an input rule, are quarantined."""
        record = _cleaned(record)
        result = self._note(record)
        n = self.mapping.notes
        sources = {"created_at": n.created_at or "created_at", "author": n.author or "author", "kind": n.kind or "kind"}
        return result if isinstance(result, Quarantined) else self._admitted(record, result, sources)

    def _note(self, record: RawRecord) -> EvidenceNote | Quarantined:
        n, props = self.mapping.notes, record.properties
        text = _text(props.get(n.text))
        if not text:
            return Quarantined("notes", record.id, n.text, "empty note text", dict(props))
        try:
            created = to_datetime(parse_value(props.get(n.created_at), "datetime")) if n.created_at else None
        except BadValue as exc:
            return Quarantined("notes", record.id, n.created_at or "created_at", str(exc), dict(props))
        return EvidenceNote(id=record.id, text=_strip_html(text), account_id=record.derived.get("account_id"),
                            deal_id=record.derived.get("deal_id"), kind=_text(props.get(n.kind)) if n.kind else None,
                            author=_text(props.get(n.author)) if n.author else None, created_at=created)

    @classmethod
    def owner(cls, record: RawRecord) -> OwnerRecord | Quarantined:
        """A canonical owner, or the reason it is quarantined (an over-long id, email or name)."""
        record = _cleaned(record)
        p = record.properties
        name = " ".join(x for x in (_text(p.get("firstName")), _text(p.get("lastName"))) if x) or None
        result = OwnerRecord(id=record.id, email=_text(p.get("email")), name=name,
                             active=not bool(p.get("archived")), raw=dict(p))
        return cls._admitted(record, result, {"name": "firstName"})


class _Quarantine(Exception):
    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason
        super().__init__(reason)


def _cleaned(record: RawRecord) -> RawRecord:
    """The record with control characters removed from its id, properties and derived ids."""
    return dataclasses.replace(record, id=clean(str(record.id)), properties=clean(record.properties),
                               derived=clean(record.derived))


def _quarantined(record: RawRecord, exc: Exception) -> Quarantined:
    field = getattr(exc, "field", "?")
    reason = getattr(exc, "reason", str(exc))
    return Quarantined(record.object_type, record.id, field, reason, dict(record.properties))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _strip_html(text: str) -> str:
    import re

    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()
