"""The CRM's words, kept in the store: field and option labels, the portal's currency, record names.

What the reasons and the brief read is keyed by canonical attribute, through the connection's
field mapping (the CRM knows properties; the worker knows attributes).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from worker.ingest.mapping import FieldMapping
from worker.store import Account, Deal

CHUNK = 500


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    items = sorted(set(ids))
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


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
