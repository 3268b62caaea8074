"""The field mapping parses typed values and quarantines bad records with the field and reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.base import RawRecord
from worker.ingest.mapping import BadValue, MappingError, Normaliser, load_mapping, parse_value
from worker.ingest.records import AccountRecord, DealRecord, Quarantined
from worker.settings import DEFAULT_CONFIG

MAPPING = load_mapping(DEFAULT_CONFIG / "hubspot-mapping.yaml")


@pytest.mark.parametrize(("raw", "kind", "expected"), [
    ("12", "number", 12.0), ("", "number", None), (" 3.0 ", "integer", 3), ("Yes", "boolean", True),
    ("false", "boolean", False), ("1700000000000", "datetime", "2023-11-14T22:13:20+00:00"),
    ("2026-01-02T03:04:05Z", "datetime", "2026-01-02T03:04:05+00:00"), ("2026-01-02", "date", "2026-01-02"),
    ("Software", "category", "Software"),
])
def test_parse_value(raw: str, kind: str, expected: object) -> None:
    """Raw CRM strings parse to their declared types; empty means missing."""
    assert parse_value(raw, kind) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("raw", "kind"), [("abc", "number"), ("2.5", "integer"), ("maybe", "boolean"),
                                           ("nan", "number"), ("31/31/2026", "date")])
def test_bad_values_raise(raw: str, kind: str) -> None:
    """Values that do not parse are refused, never silently zeroed."""
    with pytest.raises(BadValue):
        parse_value(raw, kind)  # type: ignore[arg-type]


def test_bad_account_is_quarantined_with_field_and_reason() -> None:
    """A bad value quarantines the record, naming the record, the CRM field and the reason."""
    result = Normaliser(MAPPING).account(RawRecord("accounts", "42", None, {"numberofemployees": "lots"}))
    assert isinstance(result, Quarantined)
    assert (result.record_id, result.field) == ("42", "numberofemployees") and "lots" in result.reason
    assert result.raw == {"numberofemployees": "lots"}


def test_override_outside_range_is_ignored_with_its_reason() -> None:
    """A manual override must be a score 0-100: a bad one is ignored and says why; the account is kept."""
    for raw, why in (("140", "override 140 is outside 0-100"), ("lots", "icp_fit_override")):
        result = Normaliser(MAPPING).account(RawRecord("accounts", "1", None, {"icp_fit_override": raw}))
        assert isinstance(result, AccountRecord) and result.override_score is None
        assert result.override_issue is not None and why in result.override_issue


def test_good_account_keeps_raw_beside_normalised() -> None:
    """Raw properties are kept, so a re-mapping needs no re-pull."""
    raw = {"name": "Acme", "numberofemployees": "250", "uses_data_warehouse": "true", "icp_fit_override": "70",
           "icp_fit_override_reason": "strategic", "retention_status": "active", "unmapped": "x"}
    account = Normaliser(MAPPING).account(RawRecord("accounts", "1", datetime(2026, 1, 1, tzinfo=UTC), raw))
    assert isinstance(account, AccountRecord)
    assert account.attributes["employees"] == 250.0 and account.attributes["uses_data_warehouse"] is True
    assert account.override_score == 70 and account.override_reason == "strategic"
    assert account.health["retention_status"] == "active" and account.raw == raw


def test_deal_without_outcome_is_quarantined() -> None:
    """A deal whose outcome cannot be told is quarantined, not guessed."""
    result = Normaliser(MAPPING).deal(RawRecord("deals", "9", None, {"amount": "10"}, {"outcome": None}))
    assert isinstance(result, Quarantined) and result.field == "outcome"


def test_deal_fields_are_typed() -> None:
    """Deal amounts and dates are parsed; the account comes from the association."""
    deal = Normaliser(MAPPING).deal(RawRecord("deals", "9", None, {
        "amount": "1200.5", "createdate": "2026-01-01T00:00:00Z", "closedate": "2026-02-01T00:00:00Z",
        "closed_lost_reason": "price"}, {"outcome": "lost", "account_id": "3"}))
    assert isinstance(deal, DealRecord)
    assert (deal.amount, deal.account_id, deal.loss_reason) == (1200.5, "3", "price")
    assert deal.closed_at == datetime(2026, 2, 1, tzinfo=UTC)


def test_invalid_mapping_names_the_key(tmp_path: Path) -> None:
    """A mapping mistake is reported with the key path."""
    path = tmp_path / "m.yaml"
    path.write_text("crm: hubspot\naccounts:\n  attributes:\n    size: {field: employees, type: size}\n")
    with pytest.raises(MappingError, match=r"accounts\.attributes\.size\.type"):
        load_mapping(path)
