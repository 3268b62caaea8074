"""A deterministic, CRM-neutral world of owners, accounts, deals and notes.

`generate_world(seed, accounts, now)` builds the same world for the same arguments. All columns are
numpy arrays (vectorised generation: a million accounts take a few seconds). Timestamps are stored as
int64 epoch milliseconds (UTC); the row views (`World.accounts.row(i)` etc.) turn them into aware
`datetime` objects and missing values into None.

Planted ICP (the truth a statistical refinement should recover; see `PLANTED_TRUTH`):

* Real drivers of winning and of healthy retention, each worth roughly 2.5x in win odds and a
  similar cut in churn odds: industry in {COMPUTER_SOFTWARE, FINANCIAL_SERVICES}; employees
  200-2,000; uses_data_warehouse = true.
* Wins but churns: annual_revenue above $500M wins more often and with ~2.2x larger amounts, but
  churns far more, has poor delivery fit, ~2.5x longer time to value and ~3x the support tickets.
* Anti-persona: funding_stage = seed has a low win rate and high churn.
* Buying trigger: lead_source = referral wins more and closes ~40% faster (created -> closed).
* Noise with no effect on any outcome: country, founded_year, crm_system, web_visits_30d.

Shape of the data:

* Accounts have 0-3 deals (~40% have a closed deal); ~80% of deals are closed, closed dates spread
  over the 24 months before `now`; the overall win rate is about 30%. Deals live in the "default"
  pipeline or in a custom "Enterprise" pipeline whose stage ids are numeric.
* Lost deals carry a loss reason that is either specific (Price, Missing feature, Lost to
  competitor, Timing, No budget) or generic/empty (Other, "", None, No decision).
* Customer-health fields are filled only for accounts with a won deal.
* Each firmographic attribute (and deal amount / lead source) is missing for 2-5% of records.
* Ties: accounts created before the initial CRM import share one creation instant, and about 30% of
  accounts (15% of deals) were last modified in a few bulk updates that share a millisecond.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from sandbox import _catalog as cat
from sandbox import _notegen, _worldgen
from sandbox import _text as txt
from sandbox._catalog import PIPELINES, Pipeline

__all__ = [
    "PLANTED_TRUTH", "Owner", "Account", "Deal", "Note", "AccountTable", "DealTable", "NoteTable",
    "World", "generate_world",
]


def _odds(coef: float) -> float:
    return round(math.exp(coef), 2)


PLANTED_TRUTH: dict[str, Any] = {
    "drivers": {
        "industry": {"in": list(cat.ICP_INDUSTRIES), "win_odds_ratio": _odds(cat.WIN_LOGIT["icp_industry"]),
                     "churn_odds_ratio": _odds(cat.CHURN_LOGIT["icp_industry"])},
        "employees": {"between": list(cat.SWEET_SPOT_EMPLOYEES),
                      "win_odds_ratio": _odds(cat.WIN_LOGIT["sweet_spot_size"]),
                      "churn_odds_ratio": _odds(cat.CHURN_LOGIT["sweet_spot_size"])},
        "uses_data_warehouse": {"eq": True, "win_odds_ratio": _odds(cat.WIN_LOGIT["data_warehouse"]),
                                "churn_odds_ratio": _odds(cat.CHURN_LOGIT["data_warehouse"])},
    },
    "wins_but_churns": {
        "annual_revenue": {"gt": cat.LARGE_REVENUE_THRESHOLD, "win_odds_ratio": _odds(cat.WIN_LOGIT["large_revenue"]),
                           "churn_odds_ratio": _odds(cat.CHURN_LOGIT["large_revenue"]),
                           "amount_factor": cat.LARGE_REVENUE_AMOUNT_FACTOR,
                           "time_to_value_factor": cat.LARGE_REVENUE_TTV_FACTOR,
                           "support_ticket_factor": cat.LARGE_REVENUE_TICKET_FACTOR, "delivery_fit": "poor"},
    },
    "anti_persona": {
        "funding_stage": {"eq": "seed", "win_odds_ratio": _odds(cat.WIN_LOGIT["seed_stage"]),
                          "churn_odds_ratio": _odds(cat.CHURN_LOGIT["seed_stage"])},
    },
    "deal_trigger": {
        "lead_source": {"eq": "referral", "win_odds_ratio": _odds(cat.WIN_LOGIT["referral"]),
                        "cycle_factor": cat.REFERRAL_CYCLE_FACTOR},
    },
    "noise": ["country", "founded_year", "crm_system", "web_visits_30d"],
}


def _ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


@dataclass(frozen=True)
class Owner:
    """A sales rep."""

    id: int
    first_name: str
    last_name: str
    email: str
    created_at: datetime

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class Account:
    """One account (company) as plain Python values; None means missing."""

    id: int
    name: str
    domain: str
    owner_id: int | None
    created_at: datetime
    modified_at: datetime
    industry: str | None
    employees: int | None
    annual_revenue: float | None
    country: str | None
    founded_year: int | None
    funding_stage: str | None
    uses_data_warehouse: bool | None
    crm_system: str | None
    web_visits_30d: int | None
    retention_status: str | None
    churn_date: date | None
    nps: int | None
    support_tickets_90d: int | None
    time_to_value_days: int | None
    delivery_fit: str | None
    gross_margin_pct: float | None


@dataclass(frozen=True)
class Deal:
    """One deal (opportunity)."""

    id: int
    account_id: int
    owner_id: int
    name: str
    pipeline: str
    stage: str
    is_closed: bool
    is_won: bool
    amount: float | None
    created_at: datetime
    closed_at: datetime | None
    modified_at: datetime
    loss_reason: str | None
    competitor: str | None
    lead_source: str | None


@dataclass(frozen=True)
class Note:
    """A free-text note on an account, optionally tied to a deal."""

    id: int
    account_id: int
    deal_id: int | None
    kind: str
    author: str
    created_at: datetime
    text: str


RowT = TypeVar("RowT")


class _Table(Generic[RowT]):
    """Columnar storage; subclasses are dataclasses whose fields are equal-length arrays."""

    _row_type: ClassVar[type]
    _datetime_fields: ClassVar[frozenset[str]] = frozenset({"created_at", "modified_at", "closed_at"})
    _date_fields: ClassVar[frozenset[str]] = frozenset({"churn_date"})
    id: np.ndarray

    def __len__(self) -> int:
        return len(self.id)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rows={len(self)})"

    def _value(self, name: str, i: int) -> Any:
        value = getattr(self, name)[i]
        if value is np.ma.masked or value is None:
            return None
        if isinstance(value, np.generic):
            value = value.item()
        if name in self._datetime_fields:
            return _ms_to_datetime(value)
        if name in self._date_fields:
            return _ms_to_datetime(value).date()
        return value

    def row(self, i: int) -> RowT:
        """The record at position `i` (not its id) as a row dataclass."""
        row: RowT = self._row_type(**{f.name: self._value(f.name, i) for f in fields(self._row_type)})
        return row

    def rows(self) -> Iterator[RowT]:
        """All records in id order."""
        return (self.row(i) for i in range(len(self)))


@dataclass(frozen=True, eq=False, repr=False)
class AccountTable(_Table[Account]):
    """Accounts column by column; masked arrays / None entries mark missing values."""

    _row_type: ClassVar[type] = Account
    id: np.ndarray
    name: np.ndarray
    domain: np.ndarray
    owner_id: np.ma.MaskedArray
    created_at: np.ndarray
    modified_at: np.ndarray
    industry: np.ndarray
    employees: np.ma.MaskedArray
    annual_revenue: np.ma.MaskedArray
    country: np.ndarray
    founded_year: np.ma.MaskedArray
    funding_stage: np.ndarray
    uses_data_warehouse: np.ma.MaskedArray
    crm_system: np.ndarray
    web_visits_30d: np.ma.MaskedArray
    retention_status: np.ndarray
    churn_date: np.ma.MaskedArray
    nps: np.ma.MaskedArray
    support_tickets_90d: np.ma.MaskedArray
    time_to_value_days: np.ma.MaskedArray
    delivery_fit: np.ndarray
    gross_margin_pct: np.ma.MaskedArray


@dataclass(frozen=True, eq=False, repr=False)
class DealTable(_Table[Deal]):
    """Deals column by column; `closed_at` is masked for open deals."""

    _row_type: ClassVar[type] = Deal
    id: np.ndarray
    account_id: np.ndarray
    owner_id: np.ndarray
    name: np.ndarray
    pipeline: np.ndarray
    stage: np.ndarray
    is_closed: np.ndarray
    is_won: np.ndarray
    amount: np.ma.MaskedArray
    created_at: np.ndarray
    closed_at: np.ma.MaskedArray
    modified_at: np.ndarray
    loss_reason: np.ndarray
    competitor: np.ndarray
    lead_source: np.ndarray


@dataclass(frozen=True, eq=False, repr=False)
class NoteTable(_Table[Note]):
    """Notes column by column; `deal_id` is masked for account-level notes."""

    _row_type: ClassVar[type] = Note
    id: np.ndarray
    account_id: np.ndarray
    deal_id: np.ma.MaskedArray
    kind: np.ndarray
    author: np.ndarray
    created_at: np.ndarray
    text: np.ndarray


@dataclass(frozen=True, eq=False)
class World:
    """Everything a CRM personality serves. Ids are 1-based positions within each table."""

    seed: int
    now: datetime
    owners: tuple[Owner, ...]
    accounts: AccountTable
    deals: DealTable
    notes: NoteTable
    pipelines: tuple[Pipeline, ...] = PIPELINES

    def __repr__(self) -> str:
        return (f"World(seed={self.seed}, now={self.now.isoformat()}, owners={len(self.owners)}, "
                f"accounts={len(self.accounts)}, deals={len(self.deals)}, notes={len(self.notes)})")

    @property
    def now_ms(self) -> int:
        """`now` as epoch milliseconds."""
        return int(round(self.now.timestamp() * 1000))


def generate_world(seed: int, accounts: int, now: datetime) -> World:
    """Build the deterministic world for `seed` with `accounts` accounts, as seen at `now` (aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if accounts < 0:
        raise ValueError("accounts must be >= 0")
    now = now.astimezone(UTC).replace(microsecond=now.microsecond // 1000 * 1000)
    now_ms = int(round(now.timestamp() * 1000))
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    n_owners = min(60, max(6, accounts // 150))
    own = _worldgen.owners(rngs[0], n_owners, now_ms)
    acc = _worldgen.firmographics(rngs[1], accounts, n_owners, now.year)
    names, domains = _worldgen.company_names(rngs[2], accounts)
    deals = _worldgen.deals(rngs[3], acc, n_owners, now_ms)
    created, modified = _worldgen.account_times(rngs[4], accounts, deals, now_ms)
    health = _worldgen.health(rngs[5], acc, deals, now_ms)
    owner_names = [f"{first} {last}" for first, last in zip(own["first_name"], own["last_name"], strict=True)]
    notes = _notegen.notes(rngs[6], names.tolist(), acc["owner_id"], deals, health, owner_names, now_ms)
    blank = rngs[7]
    return World(
        seed=seed,
        now=now,
        owners=tuple(
            Owner(int(i), first, last, email, _ms_to_datetime(int(c)))
            for i, first, last, email, c in zip(own["id"], own["first_name"], own["last_name"], own["email"],
                                                own["created_at"], strict=True)
        ),
        accounts=_account_table(blank, acc, names, domains, created, modified, health),
        deals=_deal_table(blank, deals, names),
        notes=NoteTable(
            id=np.arange(1, len(notes["kind"]) + 1, dtype=np.int64),
            account_id=notes["account_index"] + 1,
            deal_id=np.ma.MaskedArray(notes["deal_index"] + 1, mask=notes["deal_index"] < 0),
            kind=notes["kind"], author=notes["author"], created_at=notes["created_at"], text=notes["text"],
        ),
    )


def _account_table(rng: np.random.Generator, acc: dict[str, Any], names: np.ndarray, domains: np.ndarray,
                   created: np.ndarray, modified: np.ndarray, h: dict[str, Any]) -> AccountTable:
    b = _worldgen.blank
    won = h["has_won"]
    return AccountTable(
        id=np.arange(1, len(names) + 1, dtype=np.int64), name=names, domain=domains,
        owner_id=b(rng, acc["owner_id"], 0.02), created_at=created, modified_at=modified,
        industry=b(rng, acc["industry"], 0.03), employees=b(rng, acc["employees"], 0.025),
        annual_revenue=b(rng, acc["annual_revenue"], 0.04), country=b(rng, acc["country"], 0.03),
        founded_year=b(rng, acc["founded_year"], 0.05), funding_stage=b(rng, acc["funding_stage"], 0.03),
        uses_data_warehouse=b(rng, acc["uses_data_warehouse"], 0.03), crm_system=b(rng, acc["crm_system"], 0.02),
        web_visits_30d=b(rng, acc["web_visits_30d"], 0.02), retention_status=h["retention_status"],
        churn_date=np.ma.MaskedArray(h["churn_date"], mask=h["churn_date"] < 0),
        nps=b(rng, h["nps"].astype(np.int64), 0.04, won),
        support_tickets_90d=b(rng, h["support_tickets_90d"].astype(np.int64), 0.02, won),
        time_to_value_days=b(rng, h["time_to_value_days"].astype(np.int64), 0.03, won),
        delivery_fit=b(rng, h["delivery_fit"], 0.02), gross_margin_pct=b(rng, h["gross_margin_pct"], 0.03, won),
    )


def _deal_table(rng: np.random.Generator, d: dict[str, Any], names: np.ndarray) -> DealTable:
    m = len(d["account_index"])
    products, company = txt.DEAL_PRODUCTS, names.tolist()
    deal_names = [f"{company[a]} - {products[p]}"
                  for a, p in zip(d["account_index"].tolist(), d["product"].tolist(), strict=True)]
    return DealTable(
        id=np.arange(1, m + 1, dtype=np.int64), account_id=d["account_index"] + 1, owner_id=d["owner_id"],
        name=np.array(deal_names, dtype=object), pipeline=d["pipeline"], stage=d["stage"],
        is_closed=d["is_closed"], is_won=d["is_won"], amount=_worldgen.blank(rng, d["amount"], 0.02),
        created_at=d["created_at"], closed_at=np.ma.MaskedArray(d["closed_at"], mask=~d["is_closed"]),
        modified_at=d["modified_at"], loss_reason=d["loss_reason"], competitor=d["competitor"],
        lead_source=_worldgen.blank(rng, d["lead_source"], 0.03),
    )
