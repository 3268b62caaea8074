"""The impact list on a proposal's page: accounts that change tier, with their names, owners and open
pipeline; searchable and paged, read from ``version_impact`` (computed when the version was proposed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select
from sqlmodel import Session, col

from worker.store import Owner, VersionImpact

PAGE_SIZE = 50


@dataclass(frozen=True)
class ImpactRow:
    """One account changing tier."""

    account_id: str
    name: str | None
    owner: str | None
    old_tier: str | None
    new_tier: str
    old_score: int | None
    new_score: int
    open_pipeline: float


@dataclass(frozen=True)
class ImpactPage:
    """One page of the (filtered) impact list and the totals of everything the filter matched."""

    rows: list[ImpactRow]
    matched: int
    matched_pipeline: float
    page: int
    pages: int
    query: str


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def impact_page(engine: Engine, connection: str, version: int, query: str = "", page: int = 1) -> ImpactPage:
    """Accounts changing tier under ``version`` matching ``query`` (name, owner, id or tier); most pipeline first."""
    query = query.strip()[:100]
    owner_join = and_(col(Owner.connection) == col(VersionImpact.connection),
                      col(Owner.id) == col(VersionImpact.owner_id))
    where: list[Any] = [col(VersionImpact.connection) == connection, col(VersionImpact.version) == version]
    if query:
        where.append(or_(col(VersionImpact.search).like(_like(query), escape="\\"),
                         col(VersionImpact.new_tier) == query, col(VersionImpact.old_tier) == query))
    with Session(engine) as session:
        matched, pipeline = session.execute(
            select(func.count(), func.coalesce(func.sum(col(VersionImpact.open_pipeline)), 0.0))
            .select_from(VersionImpact).where(*where)).one()
        pages = max(1, -(-int(matched) // PAGE_SIZE))
        page = min(max(1, page), pages)
        found = session.execute(
            select(VersionImpact, col(Owner.name), col(Owner.email)).outerjoin(Owner, owner_join).where(*where)
            .order_by(col(VersionImpact.open_pipeline).desc(), col(VersionImpact.account_id))
            .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    rows = [ImpactRow(i.account_id, i.name, owner_name or owner_email or i.owner_id, i.old_tier, i.new_tier,
                      i.old_score, i.new_score, i.open_pipeline) for i, owner_name, owner_email in found]
    return ImpactPage(rows, int(matched), float(pipeline), page, pages, query)
