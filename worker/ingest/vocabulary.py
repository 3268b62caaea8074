"""The CRM's words, kept in the store: field and option labels, the portal's currency, record names.

:func:`refresh_vocabulary` reads field definitions (labels, picklist option labels, which fields
are money) and the portal's currency from the connector, at most once a day, and keeps them.
:func:`load_field_labels` gives them back keyed by canonical attribute, through the connection's
field mapping (the CRM knows properties; the worker knows attributes), for the reasons and the brief.
Labels are a courtesy: a CRM that cannot say them never stops a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar, cast

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from connectors.base import Connector, FieldDefinition, ObjectType, PortalDetails
from connectors.errors import ConnectorError, QuotaExhaustedError
from worker.ingest.mapping import FieldMapping
from worker.logs import get_logger
from worker.score.scorecard.labels import FieldLabels
from worker.store import Account, CrmField, CrmPortal, Deal, session_scope, upsert

T = TypeVar("T")
CHUNK = 500
MAX_AGE = timedelta(days=1)
log = get_logger("worker.ingest.vocabulary")


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    items = sorted(set(ids))
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def field_sources(mapping: FieldMapping) -> dict[str, tuple[str, str]]:
    """Canonical attribute → (object type, CRM field) for everything a reason or the brief names."""
    account_fields = {**mapping.accounts.health, **mapping.accounts.attributes}
    sources = {attribute: ("accounts", ref.field) for attribute, ref in account_fields.items()}
    deals = mapping.deals
    for attribute in ("amount", "stage", "pipeline", "loss_reason", "competitor", "lead_source"):
        ref = getattr(deals, attribute)
        if ref is not None:
            sources[attribute] = ("deals", ref.field)
    sources.update({attribute: ("deals", ref.field) for attribute, ref in deals.attributes.items()})
    return sources


def refresh_vocabulary(engine: Engine, connection: str, connector: Connector, mapping: FieldMapping,
                       now: datetime, max_age: timedelta = MAX_AGE) -> bool:
    """Read labels and the currency from the CRM when the stored ones are older than ``max_age``.

    Returns True when they were read. A CRM error is logged and what could be read is kept (the
    rest stays as stored); running out of daily quota is not caught, so the run stops cleanly as it
    would on any other call.
    """
    with Session(engine) as session:
        portal = session.get(CrmPortal, connection)
    if portal is not None and portal.read_at is not None and now - portal.read_at < max_age:
        return False
    wanted: dict[str, list[str]] = {}
    for object_type, name in field_sources(mapping).values():
        wanted.setdefault(object_type, []).append(name)
    definitions: dict[str, list[FieldDefinition]] = {
        object_type: _ask(partial(connector.read_field_definitions, cast(ObjectType, object_type), names), [])
        for object_type, names in wanted.items()}
    details = _ask(connector.read_portal_details, PortalDetails())
    currency = details.currency or (portal.currency if portal else None)
    zone = details.time_zone or (portal.time_zone if portal else None)
    rows = [{"connection": connection, "object_type": object_type, "name": d.name, "label": d.label,
             "options": dict(d.options), "money": d.money, "read_at": now}
            for object_type, found in definitions.items() for d in found]
    with session_scope(engine) as session:
        upsert(session, CrmField, rows)
        upsert(session, CrmPortal, [{"connection": connection, "currency": currency, "time_zone": zone,
                                     "read_at": now}])
    log.info("vocabulary.read", fields=len(rows), currency=currency)
    return True


def _ask(read: Callable[[], T], fallback: T) -> T:
    """One metadata call; a CRM error is logged and answered with ``fallback``."""
    try:
        return read()
    except QuotaExhaustedError:
        raise
    except ConnectorError as exc:
        log.warning("vocabulary.unavailable", reason=str(exc))
        return fallback


def load_field_labels(engine: Engine, connection: str, mapping: FieldMapping,
                      currency: str | None = None) -> FieldLabels:
    """Labels by canonical attribute from the stored CRM metadata; ``currency`` (from config) wins over the CRM's."""
    with Session(engine) as session:
        fields = {(f.object_type, f.name.lower()): f for f in session.execute(
            select(CrmField).where(col(CrmField.connection) == connection)).scalars()}
        portal = session.get(CrmPortal, connection)
    labels: dict[str, str] = {}
    options: dict[str, dict[str, str]] = {}
    money: set[str] = set()
    for attribute, (object_type, name) in field_sources(mapping).items():
        found = fields.get((object_type, name.lower()))
        if found is None:
            continue
        labels[attribute] = found.label
        if found.options:
            options[attribute] = {str(k): str(v) for k, v in found.options.items()}
        if found.money:
            money.add(attribute)
    return FieldLabels.build(labels, options, money, currency or (portal.currency if portal else None))


def record_names(engine: Engine, connection: str, mapping: FieldMapping, account_ids: Iterable[str],
                 deal_ids: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Company names and deal names of the given ids (deal names from the raw property the mapping names)."""
    accounts: dict[str, str] = {}
    deals: dict[str, str] = {}
    name_field = mapping.deals.name
    with Session(engine) as session:
        for chunk in _chunks(account_ids):
            rows = session.execute(select(col(Account.id), col(Account.name)).where(
                col(Account.connection) == connection, col(Account.id).in_(chunk))).all()
            accounts.update({r.id: r.name for r in rows if r.name})
        if name_field:
            for chunk in _chunks(deal_ids):
                rows = session.execute(select(col(Deal.id), col(Deal.raw)).where(
                    col(Deal.connection) == connection, col(Deal.id).in_(chunk))).all()
                deals.update({r.id: str(r.raw[name_field]) for r in rows if (r.raw or {}).get(name_field)})
    return accounts, deals
